"""What the tests, the local run and the benchmark share: the embedded AWS (moto plus the SSM
calls it lacks), a reader for template.yaml, and a real nginx + php-fpm web node on loopback.

It lives outside tests/ so that nothing outside tests/ imports from tests/.
"""
