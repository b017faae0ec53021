"""Seed example "Prefect Compatibility": `url_pdf` in a web service (flow-system.md).

The seed's `url_pdf` is a method of a web service; here it is kept as the seed's function and
called with a small service object. `Flow__Playwright__Get_Page_Pdf`, the browser and
`StreamingResponse` are stand-ins: the flow drives a fake async browser with flowtel tasks.
"""

import asyncio
import base64
import io

from flowtel import flow, task

# --- stand-ins for what the seed leaves undefined ---------------------------------------


class Fake_Page:
    def __init__(self, calls):
        self.calls = calls
        self.url = None

    async def goto(self, url):
        await asyncio.sleep(0)
        self.calls.append(f"goto {url}")
        self.url = url

    async def pdf(self):
        await asyncio.sleep(0)
        self.calls.append("pdf")
        return f"%PDF-1.4 fake pdf of {self.url}".encode()


class Fake_Browser:
    def __init__(self):
        self.calls = []

    async def new_page(self):
        self.calls.append("new_page")
        return Fake_Page(self.calls)


class Flow__Playwright__Get_Page_Pdf:
    """Opens `url` in a (fake) browser and prints it to PDF, as a flowtel flow."""

    def __init__(self):
        self.url = None
        self.browser = Fake_Browser()
        self.last_run = None
        self.exited = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.exited = True

    @task()
    async def open_page(self, flow_data):
        page = await self.browser.new_page()
        await page.goto(self.url)
        flow_data["page"] = page

    @task()
    async def print_pdf(self, flow_data):
        pdf_bytes = await flow_data["page"].pdf()
        flow_data["pdf_bytes"] = pdf_bytes
        flow_data["pdf_base64"] = base64.b64encode(pdf_bytes).decode()

    @flow()
    async def flow_get_page_pdf(self):
        await self.open_page()
        await self.print_pdf()
        return "pdf created"

    def run(self):
        self.last_run = self.flow_get_page_pdf().execute()
        return self.last_run.data


class StreamingResponse:
    def __init__(self, stream, media_type, headers):
        self.body = stream.read()
        self.media_type = media_type
        self.headers = headers


class Web_Service:
    def __init__(self):
        self.browser_installed = False

    def install_browser(self):
        self.browser_installed = True


# --- the seed's code (imports adapted) ----------------------------------------------------
# fmt: off
def url_pdf(self, url="https://httpbin.org/get", return_file:bool=False):
    self.install_browser()
    with Flow__Playwright__Get_Page_Pdf() as _:
        _.url = url
        run_data   = _.run()
        pdf_bytes  = run_data.get('pdf_bytes')
        pdf_base64 = run_data.get('pdf_base64')

        if return_file is True:
            pdf_stream = io.BytesIO(pdf_bytes)
            response = StreamingResponse(
                pdf_stream,
                media_type = "application/pdf",
                headers    = {"Content-Disposition": "attachment; filename=document.pdf"}
            )
        else:
            response = {'pdf_base64': pdf_base64}

        return response
# fmt: on


def main() -> dict:
    """Call url_pdf both ways and report the responses."""
    service = Web_Service()
    as_json = url_pdf(service)
    as_file = url_pdf(service, url="https://example.com", return_file=True)
    return {
        "browser_installed": service.browser_installed,
        "json_response": as_json,
        "pdf_from_json": base64.b64decode(as_json["pdf_base64"]),
        "file_body": as_file.body,
        "file_media_type": as_file.media_type,
        "file_headers": as_file.headers,
    }


if __name__ == "__main__":
    outcome = main()
    print(f"pdf: {outcome['pdf_from_json'].decode()}")
    print(f"file: {outcome['file_body'].decode()} ({outcome['file_media_type']})")
