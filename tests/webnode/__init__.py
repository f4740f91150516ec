"""The web node for real: nginx, php-fpm and apcu.php on 127.0.0.1, driven by the SSM document's script."""
