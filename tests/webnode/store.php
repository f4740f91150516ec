<?php
// Test fixture, served next to apcu.php by the same php-fpm: stores the keys it is
// given (POST store[]=key, or generate[prefix]=count), then answers with every key in php-fpm's cache. Keys
// can only be put in or seen through php-fpm: the PHP CLI has a cache of its own.

declare(strict_types=1);

header('Content-Type: application/json');
header('Cache-Control: no-store');

if (!function_exists('apcu_enabled') || !apcu_enabled()) {
    http_response_code(503);
    echo json_encode(['error' => 'apcu_unavailable']), "\n";
    exit;
}

$store = $_POST['store'] ?? [];
foreach (is_array($store) ? $store : [$store] as $key) {
    apcu_store((string) $key, 'value of ' . $key);
}
// generate[<prefix>]=<n> stores <prefix>0 .. <prefix><n-1>: more keys than one form
// may carry (max_input_vars).
$generate = $_POST['generate'] ?? [];
foreach (is_array($generate) ? $generate : [] as $prefix => $count) {
    for ($i = 0; $i < (int) $count; $i++) {
        apcu_store($prefix . $i, 'value of ' . $prefix . $i);
    }
}

$keys = [];
foreach (new APCUIterator(null, APC_ITER_KEY) as $entry) {
    $keys[] = $entry['key'];
}
sort($keys);

echo json_encode([
    'keys' => $keys,
    'entries' => apcu_cache_info(true)['num_entries'],
    'pid' => getmypid(),
]), "\n";
