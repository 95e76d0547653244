"""Scanning the meter's serial (``api/static/handheld/scan.js``) in headless Chromium with a
phone's screen: the rules that pick a serial among detected barcodes, the frame loop, and
the form's field, which offers a scan button only where the browser has BarcodeDetector
and otherwise leaves manual entry alone. The camera and the detector are stand-ins
installed in the page (this Chromium has neither a camera nor, on Linux, BarcodeDetector);
everything else is the app's own code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.handheld_support import PHONE

pytestmark = pytest.mark.e2e

# A BarcodeDetector that sees nothing on its first two frames (one of them not ready),
# then a label with two codes, and a camera made of a canvas stream (tracks counted when
# stopped, to prove the camera is released).
FAKE_CAMERA_AND_DETECTOR = """
window.__frames = 0;
window.__stopped = 0;
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ['code_128', 'qr_code']; }
  constructor(options) { window.__formats = options.formats; }
  async detect(source) {
    window.__frames += 1;
    if (window.__frames === 1) throw new Error('frame not ready');
    if (window.__frames === 2) return [];
    return [{rawValue: 'LOT 77', format: 'code_128'}, {rawValue: ' m-0001 ', format: 'qr_code'}];
  }
};
navigator.mediaDevices.getUserMedia = async (constraints) => {
  window.__constraints = constraints;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  canvas.getContext('2d').fillRect(0, 0, 64, 48);
  const stream = canvas.captureStream(10);
  stream.getTracks().forEach((t) => {
    const stop = t.stop.bind(t);
    t.stop = () => { window.__stopped += 1; stop(); };
  });
  return stream;
};
"""


@pytest.fixture()
def phone(browser) -> Iterator[object]:
    context = browser.new_context(**PHONE)
    yield context
    context.close()


def test_the_scan_rules(phone, live_url: str) -> None:
    page = phone.new_page()
    page.goto(f"{live_url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    result = page.evaluate("""async () => {
        const s = await import('/static/handheld/scan.js');
        const frames = (lists) => ({ detect: async () => {
            const next = lists.shift();
            if (next instanceof Error) throw next;
            return next ?? [];
        } });
        const noSleep = async () => {};
        const aborted = new AbortController(); aborted.abort();
        return {
            normalized: [' ab 12\\n', 'M-0001', '', null, '\\u0000 x'].map(s.normalizeSerial),
            picked: [
                s.pickSerial([{rawValue: 'LOT 77'}, {rawValue: 'm-0001'}], 'M-0001'),
                s.pickSerial([{rawValue: 'LOT 77'}, {rawValue: 'm-0001'}], 'M-0002'),
                s.pickSerial([{rawValue: '  '}, {}], 'M-0001'),
                s.pickSerial([], null),
            ],
            can: [s.canScan({}), s.canScan({BarcodeDetector: class {}})],
            loop: await s.detectSerial(
                frames([new Error('not ready'), [], [{rawValue: 'x9'}]]), null, {sleep: noSleep}),
            timedOut: await s.detectSerial(frames([]), null, {timeoutMs: 0, sleep: noSleep}),
            cancelled: await s.detectSerial(
                frames([[{rawValue: 'x9'}]]), null, {signal: aborted.signal, sleep: noSleep}),
        };
    }""")
    # Serials compared without spaces, control characters or case; the expected meter's
    # serial wins over another code of the same label; nothing readable is null.
    assert result["normalized"] == ["AB12", "M-0001", None, None, "X"]
    assert result["picked"] == ["M-0001", "LOT77", None, None]
    assert result["can"] == [False, True]
    # A frame not ready and an empty frame are skipped; the third frame's code is taken.
    assert result["loop"] == "X9"
    assert result["timedOut"] is None
    assert result["cancelled"] is None


def _field(page, expected: str) -> None:
    page.evaluate(
        """async (expected) => {
            const v = await import('/static/handheld/views.js');
            window.__field = v.serialField(expected);
            document.body.replaceChildren(window.__field.element);
        }""",
        expected,
    )


def test_the_serial_is_scanned_with_the_camera_where_the_browser_can(phone, live_url: str) -> None:
    page = phone.new_page()
    page.add_init_script(FAKE_CAMERA_AND_DETECTOR)
    page.goto(f"{live_url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    _field(page, "M-0001")
    page.click("[data-action=scan-serial]")
    page.wait_for_function(
        "document.querySelector('[data-testid=scan-status]').textContent.startsWith('Scanned')"
    )
    state = page.evaluate("""() => ({
        input: document.querySelector('input[name=scanned_serial]').value,
        value: window.__field.value(),
        status: document.querySelector('[data-testid=scan-status]').textContent,
        frames: window.__frames, stopped: window.__stopped,
        formats: window.__formats, facing: window.__constraints.video.facingMode,
        videoHidden: document.querySelector('video.scan').hidden,
    })""")
    # The third frame holds 'LOT 77' and ' m-0001 ': the expected meter's serial is taken,
    # and what goes into the record's scanned_serial is that serial.
    assert (state["input"], state["value"]) == ("M-0001", "M-0001")
    assert state["status"] == "Scanned M-0001"
    assert state["frames"] == 3
    # The back camera, the formats this browser supports among the serial ones, and the
    # camera released once the serial is read.
    assert state["facing"] == "environment"
    assert state["formats"] == ["code_128", "qr_code"]
    assert state["stopped"] >= 1 and state["videoHidden"] is True


def test_without_barcode_detector_the_serial_is_typed(phone, live_url: str) -> None:
    page = phone.new_page()
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto(f"{live_url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    _field(page, "M-0001")
    assert page.query_selector("[data-action=scan-serial]") is None
    page.fill("input[name=scanned_serial]", "  m-0002 ")
    # Typed: sent as typed, trimmed (the server compares without case).
    assert page.evaluate("window.__field.value()") == "m-0002"
