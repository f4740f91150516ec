<?php
// Test fixture: a slow page (a report, an export) still running while the reset is asked for.
// While it runs it holds OPcache, and OPcache restarts only when no request does.

declare(strict_types=1);

usleep(1000 * (int) ($_GET['ms'] ?? 0));
echo "slept\n";
