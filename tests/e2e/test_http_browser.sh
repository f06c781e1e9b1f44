#!/bin/sh
# test_http_browser.sh -- the dashboard in headless Chromium (tests/e2e/http_browser.py).
# Needs Debian's chromium, chromium-driver and python3-selenium (dev.sh installs them).
# Prints "ok N - ..." / "not ok N - ..." and "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
for need in /usr/bin/chromium /usr/bin/chromedriver; do
	if [ ! -x "$need" ]; then
		echo "not ok 1 - $need is missing: apt-get install chromium chromium-driver"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
exec /usr/bin/python3 tests/e2e/http_browser.py
