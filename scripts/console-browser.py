#!/usr/bin/python3
"""Drives the Printplane admin console in a real browser: headless Chromium via Selenium.

Run by Tests/PrintplaneServerTests/ConsoleBrowserTests.swift against a live server (it then
checks the results through the JSON admin API), or by hand:

    /usr/bin/python3 scripts/console-browser.py --base-url https://127.0.0.1:8443 \
        --admin-key-file pp/admin.key --spki "$(SPKI_SHA256_BASE64)" --driver-file some.bin --out result.json

TLS: the browser trusts exactly the server's key, pinned with
--ignore-certificate-errors-spki-list=<base64 SHA-256 of the certificate's SubjectPublicKeyInfo>
(never a blanket --ignore-certificate-errors). Needs Debian's chromium, chromium-driver and
python3-selenium (scripts/bootstrap.sh installs them); run it with Debian's /usr/bin/python3.

The steps: the console refuses pages before sign-in; sign in with the admin key; create a
printer, a profile and an assignment; create two tokens and read each (shown once); upload
a driver and set it on the printer; revoke the second token; sign out; pages are refused
again. No Content Security Policy violation may be logged on the way. Writes what it
created to --out as JSON; exits 1 with the page it was on if any step fails.
"""
import argparse
import json
import shutil
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-key-file", required=True)
    parser.add_argument("--spki", required=True, help="base64 SHA-256 of the server certificate's SPKI")
    parser.add_argument("--driver-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    admin_key = open(args.admin_key_file, encoding="utf-8").read().strip()

    profile_dir = tempfile.mkdtemp(prefix="printplane-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in [
        "--headless=new",
        "--no-sandbox",  # Chromium refuses to run as root with its sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1280,1000",
        "--user-data-dir=" + profile_dir,  # the SPKI list is only honoured with a profile directory
        "--ignore-certificate-errors-spki-list=" + args.spki,
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    browser.set_page_load_timeout(args.timeout)
    wait = WebDriverWait(browser, args.timeout)
    steps = []
    result = {"steps": steps}

    def step(name):
        steps.append(name)
        print("console-browser: " + name, flush=True)

    def path():
        return browser.current_url[len(base):] if browser.current_url.startswith(base) else browser.current_url

    def expect(condition, message):
        if not condition:
            raise AssertionError(message + " (at " + browser.current_url + ", title " + repr(browser.title) + ")")

    def open_page(page):
        browser.get(base + page)
        wait.until(EC.presence_of_element_located((By.TAG_NAME, "h1")))

    def notice(text):
        element = wait.until(EC.presence_of_element_located((By.ID, "notice")))
        expect(element.text == text, "expected notice " + repr(text) + ", got " + repr(element.text))

    def fill(element_id, value):
        field = browser.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)

    def replaced(old):
        # The old page's root is gone once the browser shows the answer. Selenium 4.8's
        # staleness_of knows only StaleElementReferenceException; newer Chromium can report
        # the same thing as "Node with given id does not belong to the document", so any
        # error from the old element means the page was replaced.
        def check(_):
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return True
        return check

    def submit(button_id):
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, button_id).click()
        wait.until(replaced(page))
        wait.until(EC.presence_of_element_located((By.TAG_NAME, "h1")))

    try:
        step("pages need a session")
        open_page("/console/printers")
        expect(path() == "/console/login", "a page without a session should redirect to the login page")
        expect(browser.title == "Sign in · Printplane console", "the login page over pinned TLS")

        step("sign in with the admin key")
        fill("secret", admin_key)
        submit("sign-in")
        expect(path() == "/console", "signing in should land on the dashboard")
        expect(browser.find_element(By.TAG_NAME, "h1").text == "Dashboard", "dashboard heading")
        cookies = {c["name"]: c for c in browser.get_cookies()}
        session = cookies.get("__Secure-printplane-console")
        expect(session is not None and session["secure"] and session["httpOnly"] and session.get("sameSite") == "Strict"
               and session["path"] == "/console", "session cookie flags: " + repr(session))
        expect(browser.execute_script("return document.cookie") == "", "HttpOnly: scripts cannot read the session cookie")

        step("create a printer")
        open_page("/console/printers")
        fill("printer-name", "Browser Printer")
        fill("printer-address", "10.9.8.7")
        Select(browser.find_element(By.ID, "printer-protocol")).select_by_value("lpr")
        fill("printer-port", "5515")
        fill("printer-location", "Floor 3 <east>")
        submit("create-printer-submit")
        notice("Printer created.")
        expect("Floor 3 <east>" in browser.find_element(By.ID, "printers").text, "the location shows as text")

        step("create a profile")
        open_page("/console/profiles")
        fill("profile-name", "Browser Duplex")
        Select(browser.find_element(By.ID, "profile-duplex")).select_by_value("long_edge")
        browser.find_element(By.ID, "profile-color").click()
        fill("profile-copies", "2")
        submit("create-profile-submit")
        notice("Profile created.")

        step("assign the printer to a user with the profile")
        open_page("/console/assignments")
        Select(browser.find_element(By.ID, "assignment-printer")).select_by_visible_text("Browser Printer")
        Select(browser.find_element(By.ID, "assignment-profile")).select_by_visible_text("Browser Duplex")
        Select(browser.find_element(By.ID, "assignment-kind")).select_by_value("user")
        fill("assignment-value", "alice")
        submit("create-assignment-submit")
        notice("Assignment created.")

        tokens = []
        for label, expiry, uses in [("Browser site", "6h", "5"), ("To revoke", "30m", "")]:
            step("create a token: " + label)
            open_page("/console/tokens")
            Select(browser.find_element(By.ID, "token-expires")).select_by_value(expiry)
            fill("token-max-uses", uses)
            fill("token-label", label)
            submit("create-token-submit")
            token = browser.find_element(By.ID, "new-token").text
            token_id = browser.find_element(By.ID, "new-token-id").text
            expect(token.startswith("ppe_") and len(token) == 47, "a token is shown: " + repr(token))
            tokens.append({"token": token, "id": token_id, "label": label})
            open_page("/console/tokens")
            expect(token not in browser.page_source, "the token is shown once only")
        result["tokens"] = tokens

        step("upload a driver")
        open_page("/console/drivers")
        fill("driver-name", "BrowserDriver")
        fill("driver-version", "2.0")
        fill("driver-os", "windows")
        browser.find_element(By.ID, "driver-package").send_keys(args.driver_file)
        submit("upload-driver-submit")
        notice("Driver uploaded and signed.")
        result["driver_sha256"] = browser.find_element(By.CSS_SELECTOR, "#drivers td.sha256").text

        step("set the driver on the printer")
        open_page("/console/printers")
        row = browser.find_element(By.XPATH, "//table[@id='printers']//tr[td[1][text()='Browser Printer']]")
        printer_id = row.get_attribute("data-id")
        Select(browser.find_element(By.ID, "driver-" + printer_id)).select_by_visible_text("BrowserDriver 2.0 (windows)")
        submit("set-driver-" + printer_id)
        notice("Driver set; agents pick it up at their next check-in.")
        result["printer_id"] = printer_id

        step("revoke the second token")
        open_page("/console/tokens")
        submit("revoke-" + tokens[1]["id"])
        notice("Token revoked.")
        state = browser.find_element(By.XPATH, "//tr[@data-id='" + tokens[1]["id"] + "']/td[@class='state']").text
        expect(state == "revoked", "the token's state is revoked: " + repr(state))

        step("read the reports and audit pages")
        open_page("/console/reports")
        expect(browser.find_element(By.ID, "total-jobs").text == "0", "no jobs yet")
        open_page("/console/audit")
        expect("token.revoke" in browser.find_element(By.ID, "audit").text, "the audit log shows the revocation")

        step("sign out")
        submit("sign-out")
        expect(path() == "/console/login", "signing out lands on the login page")

        step("pages are refused after signing out")
        for page in ["/console", "/console/tokens", "/console/printers"]:
            open_page(page)
            expect(path() == "/console/login", page + " should redirect to the login page after sign-out")
        browser.back()
        wait.until(EC.presence_of_element_located((By.TAG_NAME, "h1")))
        expect(path() == "/console/login" or "Sign in" in browser.title, "back does not show a signed-in page")

        violations = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
        expect(not violations, "Content Security Policy violations: " + repr(violations))
        step("done")
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump(result, out)
        return 0
    except Exception:
        traceback.print_exc()
        print("console-browser: failed at " + browser.current_url, file=sys.stderr)
        print(browser.page_source[:3000], file=sys.stderr)
        return 1
    finally:
        browser.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
