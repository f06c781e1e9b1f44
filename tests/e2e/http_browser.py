#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's chromium, headless, driven through
chromium-driver with python3-selenium, against the real outpostd.

Seeded: account "acme" (active, with a week of deliveries and bounces from a
Postfix log ingested by outpostctl, and a bounce and a refusal in the event
log) and "beta" (paused, with a reason).
Checked from the outside: the accounts page shows beta as paused, in words,
with its reason; acme's page draws a chart (a canvas with pixels on it) and
lists its recent events (/v1/events) with the bounce and the refusal;
pressing pause with a reason on acme changes its state as `outpostctl account
show --json` sees it.  Screenshots go to tests/logs/.
Prints "ok N - ..." / "not ok N - ..." and "N passed, N failed".
"""
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
from outpost_test import Daemon, free_port, wait_for, SRCDIR  # noqa: E402

LOGS = os.path.join(SRCDIR, "tests", "logs")
RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")
results = []


def step(name, fn):
    try:
        fn()
        results.append(True)
        print("ok %d - %s" % (len(results), name), flush=True)
    except Exception:
        results.append(False)
        print("not ok %d - %s" % (len(results), name), flush=True)
        traceback.print_exc()


def maillog(account, n_ok, n_bounce):
    """Postfix log lines of ACCOUNT's messages (the shape test_feedback.py uses)."""
    t = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    out = []
    for i in range(n_ok + n_bounce):
        q = "%X" % (0xB000000000 + i)
        bounce = i >= n_ok
        result = ("dsn=5.1.1, status=bounced (host sink.test[127.0.0.1] said: 550 5.1.1 user unknown "
                  "(in reply to RCPT TO command))" if bounce else "dsn=2.0.0, status=sent (250 2.0.0 Ok)")
        out.append("%s mx postfix/smtpd[100]: %s: client=app.test[192.0.2.10], sasl_method=PLAIN, "
                   "sasl_username=%s\n%s mx postfix/qmgr[102]: %s: from=<a@app.test>, size=1200, nrcpt=1 "
                   "(queue active)\n%s mx postfix/smtp[103]: %s: to=<r%d@dest.test>, relay=sink.test"
                   "[127.0.0.1]:25, delay=0.1, delays=0/0/0/0.1, %s\n%s mx postfix/qmgr[102]: %s: removed\n"
                   % (t, q, account, t, q, t, q, i, result, t, q))
    return "".join(out)


def main():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException

    os.makedirs(LOGS, exist_ok=True)
    port = free_port()
    d = Daemon('http = { listen = "inet:127.0.0.1:%d"; web_root = "%s"; };\n'
               'feedback = { rules = "%s"; event_log = "events.jsonl"; };'
               % (port, os.path.join(SRCDIR, "web"), RULES), workers=1)
    drv = None
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "add", "beta", check_rc=0)
        d.ctl("account", "pause", "beta", "--reason", "bounce rate 12.5% over 800 emails", check_rc=0)
        d.ctl("ingest", "log", "-", input=maillog("acme", 40, 3), check_rc=0)
        d.ctl("event", "bounce", "--account", "acme", "--recipient", "gone@dest.test", "--dsn", "5.1.1",
              "--reason", "550 5.1.1 user unknown", check_rc=0)
        with open(os.path.join(d.dir, "events.jsonl"), "a") as f:  # as the policy workers write one
            f.write('{"ts":"%s","type":"refusal","account":"acme","recipient":"old@dest.test",'
                    '"queue_id":null,"node":"mx1","reason":"suppressed: bounce"}\n'
                    % time.strftime("%Y-%m-%dT%H:%M:%S.500Z", time.gmtime()))
        token = d.ctl("token", "add", "browser", "--scope", "write", check_rc=0).stdout.split()[-1]
        d.start()
        base = "http://127.0.0.1:%d" % port
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1200,900"):
            opts.add_argument(a)
        drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        drv.set_page_load_timeout(30)

        def find(css):
            return wait_for(lambda: drv.find_elements(By.CSS_SELECTOR, css), 15, css)[0]

        def shows(css, text):
            """CSS's element has TEXT (the page may re-render it meanwhile: look again)."""
            try:
                return text in find(css).text
            except StaleElementReferenceException:
                return False

        def paused_shown():
            drv.get(base + "/#token=" + token)
            row = find('tr[data-account="beta"]')
            text = row.text
            assert "paused" in text, text
            assert "bounce rate 12.5% over 800 emails" in text, text
            assert "token=" not in drv.current_url, "the token left the address bar"
            drv.save_screenshot(os.path.join(LOGS, "http-accounts.png"))
        step("the paused account shows as paused, in words, with its reason", paused_shown)

        def chart_drawn():
            drv.get(base + "/#/account/acme")
            canvas = find("#volume-chart")
            wait_for(lambda: drv.execute_script(
                "const c = document.getElementById('volume-chart'); if (!c || !c.width) return false;"
                "const p = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                "for (let i = 3; i < p.length; i += 4) if (p[i]) return true; return false;"), 15, "pixels")
            assert canvas.size["height"] > 50, canvas.size
        step("the account page draws a chart", chart_drawn)

        def events_listed():
            row = find('#events tr[data-type="bounce"]')
            assert "gone@dest.test" in row.text and "5.1.1" in row.text, row.text
            row = find('#events tr[data-type="refusal"]')
            assert "old@dest.test" in row.text and "suppressed: bounce" in row.text, row.text
            drv.set_window_size(1200, 1500)
            drv.save_screenshot(os.path.join(LOGS, "http-account.png"))  # doc/dashboard.png
            drv.set_window_size(1200, 900)
        step("the account page lists its recent events, refusals included", events_listed)

        def pause_pressed():
            find("#reason").send_keys("paused from the dashboard")
            find("#do-pause").click()
            wait_for(lambda: d.ctl_json("account", "show", "acme")[0]["state"] == "paused", 15,
                     "outpostctl to see acme paused")
            show = d.ctl_json("account", "show", "acme")[0]
            assert show["reason"] == "paused from the dashboard", show["reason"]
            assert show["history"][-1]["by"] == "api:browser", show["history"][-1]
            wait_for(lambda: shows("#state", "paused"), 10, "the page to show paused")
            drv.save_screenshot(os.path.join(LOGS, "http-paused.png"))
        step("pressing pause changes the state as outpostctl sees it", pause_pressed)

        def phone():
            drv.set_window_size(390, 844)
            drv.get(base + "/#/")
            find('tr[data-account="beta"]')
            width = drv.execute_script("return document.documentElement.scrollWidth")
            assert width <= 400, "page wider than a phone: %d" % width
            drv.save_screenshot(os.path.join(LOGS, "http-phone.png"))
        step("usable on a phone-sized screen (no horizontal scrolling)", phone)
    finally:
        if drv:
            drv.quit()
        rc = d.stop() if d.proc else 0
        if rc != 0:
            results.append(False)
            print("not ok %d - outpostd exited %s" % (len(results), rc))
        d.cleanup()


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        results.append(False)
        print("not ok %d - setup" % len(results))
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    sys.exit(0 if results and all(results) else 1)
