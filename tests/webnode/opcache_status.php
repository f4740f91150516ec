<?php
// Test fixture, served next to opcache.php by the same php-fpm: OPcache's counters as php-fpm
// sees them (the CLI has an OPcache of its own).

declare(strict_types=1);

header('Content-Type: application/json');
header('Cache-Control: no-store');
$status = opcache_get_status(false);
$stats = $status['opcache_statistics'];
echo json_encode([
    'manual_restarts' => $stats['manual_restarts'],
    'restart_pending' => $status['restart_pending'],
    'scripts' => $stats['num_cached_scripts'],
]), "\n";
