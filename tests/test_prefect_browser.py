"""The resync form as ops see it: Prefect's UI in a real browser (headless Chromium).

Against the session's real Prefect server (PostgreSQL-backed, where the field order went
wrong), the deployed ``resync/manual`` "Run" page must put Account first, offer a time of
day for the window, and refuse at submit a resync with neither a window nor order
numbers (the server validates against the deployment's schema); with an order number it
is accepted. Both UIs Prefect serves are checked: the default (v2) and v1, whose pages
Prefect's own links still open.

Chromium and chromedriver come from Debian (``apt-get install chromium
chromium-driver``; ``make test`` installs them). Without them this test fails, it never
skips: the form is what ops use.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from tests.prefect_server import RealPrefect

pytestmark = [pytest.mark.prefect, pytest.mark.postgres, pytest.mark.browser]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FIELDS = ["Account", "Since", "Until", "Order Numbers", "Override Version", "Pages Per Task"]
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
    # A desktop pointer: without one, v1 falls back to the browser's own date-only input.
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(f"{path} is missing: `apt-get install -y chromium chromium-driver` (make test does it as root)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="simpul-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def resync_deployment(real_prefect: RealPrefect):  # noqa: ANN201
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name("resync/manual")


def runs_of(deployment) -> list:  # noqa: ANN001
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))


def wait_for(condition, what: str, timeout: float = 30.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def field_labels(driver) -> list[str] | None:  # noqa: ANN001
    """The parameter fields' titles, top to bottom as rendered, once all are there (None
    while the page is still rendering them)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    wanted = {"Account", "Since (Optional)", "Until (Optional)", "Order Numbers (Optional)", "Override Version (Optional)", "Pages Per Task (Optional)"}
    try:
        found = [(e.location["y"], e.text.strip()) for e in driver.find_elements(By.XPATH, "//*[not(*) and normalize-space(text())!='']") if e.text.strip() in wanted]
    except StaleElementReferenceException:  # re-rendered under our feet: look again
        return None
    labels = [text.removesuffix(" (Optional)") for _, text in sorted(found)]
    return labels if len(labels) == len(wanted) else None


def button(driver, text: str):  # noqa: ANN001, ANN201
    from selenium.webdriver.common.by import By

    return wait_for(lambda: driver.find_elements(By.XPATH, f"//button[normalize-space(.)='{text}']"), f"button {text!r}")


def click(driver, text: str) -> None:  # noqa: ANN001
    """Click the button labelled ``text`` (again, if the page re-rendered it meanwhile)."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException

    def clicked() -> bool:
        try:
            element = button(driver, text)[0]
            try:
                element.click()
            except ElementClickInterceptedException:  # the refusal's toast covers Submit
                driver.execute_script("arguments[0].click()", element)
        except StaleElementReferenceException:
            return False
        return True

    wait_for(clicked, f"a click on {text!r}")


def test_the_v2_form_puts_account_first_offers_a_time_of_day_and_refuses_a_resync_that_cannot_run(
    browser, real_prefect: RealPrefect, resync_deployment  # noqa: ANN001
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{real_prefect.url}/v2/deployments/deployment/{resync_deployment.id}/run")
    labels = wait_for(lambda: field_labels(browser), "the form's fields")

    assert labels == FIELDS
    click(browser, "date-time")  # the window's start: a date and a time of day, with its zone
    picker = wait_for(lambda: [b for b in browser.find_elements(By.TAG_NAME, "button") if "hh:mm" in b.text], "the date-time picker")
    assert "MM/DD/YYYY hh:mm" in picker[0].text
    click(browser, "None")  # back to no window

    before = len(runs_of(resync_deployment))
    account = browser.find_element(By.TAG_NAME, "textarea")
    account.send_keys("shop-a")
    click(browser, "Submit")
    toast = wait_for(lambda: [e for e in browser.find_elements(By.CSS_SELECTOR, "[data-sonner-toast][data-type=error]") if "order_numbers" in e.text], "the refusal")
    assert "Error creating flow run" in toast[0].text and "'order_numbers' is a required property" in toast[0].text  # the server's 409
    assert [e for e in browser.find_elements(By.XPATH, "//*[normalize-space(text())=\"'order_numbers' is a required property\"]") if e.is_displayed()]  # at the field
    assert "/run" in browser.current_url and len(runs_of(resync_deployment)) == before  # nothing was created

    click(browser, "Add item")
    item = wait_for(lambda: browser.find_elements(By.XPATH, "//textarea")[1:], "an order number field")
    item[0].send_keys("2601310ABC")
    item[0].send_keys(Keys.TAB)

    def accepted() -> list:
        # After a refusal Prefect's v2 form checks the values from before the last edit on
        # the next click (measured: it posts nothing), so a person clicks Submit again.
        if "/run" in browser.current_url:
            click(browser, "Submit")
            time.sleep(1.0)
        return [r for r in runs_of(resync_deployment) if r.parameters.get("params", {}).get("order_numbers") == ["2601310ABC"]]

    created = wait_for(accepted, "the accepted run")
    assert created[0].parameters["params"]["account"] == "shop-a"
    with get_client(sync_client=True) as client:
        client.delete_flow_run(created[0].id)  # accepted is all this test needs: no worker runs it


def test_the_v1_form_puts_account_first_and_offers_a_time_of_day(browser, real_prefect: RealPrefect, resync_deployment) -> None:  # noqa: ANN001
    browser.get(f"{real_prefect.url}/deployments/deployment/{resync_deployment.id}/run")
    labels = wait_for(lambda: field_labels(browser), "the form's fields")

    assert labels == FIELDS
    click(browser, "date-time")
    button(browser, "Select date and time")  # the picker has a time of day, not only a date
