<?php

declare(strict_types=1);

use Plug\PlugServer;

require __DIR__ . '/BadRequest.php';
require __DIR__ . '/PlugServer.php';

[, $endpoint, $mode] = $argv + [null, null, 'rpc'];
if ($endpoint === null || !in_array($mode, ['rpc', 'raw'], true)) {
    fwrite(STDERR, "usage: run ENDPOINT [rpc|raw]\n");
    exit(2);
}

try {
    $server = new PlugServer($endpoint, $mode);
} catch (ZMQException $e) {
    // ext-zmq says "Failed to bind the ZMQ: Address already in use": keep libzmq's part.
    $reason = preg_replace('/^Failed to bind the ZMQ: /', '', $e->getMessage());
    fwrite(STDERR, "cannot bind $endpoint: $reason\n");
    exit(1);
}
echo 'listening on ', $server->endpoint(), PHP_EOL;
fflush(STDOUT);
$server->run();
