/**
 * A report page printed to PDF by headless Chromium (through playwright-core,
 * a development dependency, loaded only when asked), with the page's own
 * print rules (A4, 12 mm margins, backgrounds kept).
 */

/** Where Chromium is looked for unless CHROMIUM_PATH says otherwise. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Raised when no browser can be started to print with. */
export class PdfUnavailableError extends Error {
  readonly code = 'PDF_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PdfUnavailableError';
  }
}

/** The PDF bytes of an HTML page. */
export async function printPdf(html: string, options: { chromium?: string } = {}): Promise<Buffer> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (err) {
    throw new PdfUnavailableError('playwright-core is not installed (npm install --include=dev)', { cause: err });
  }
  const executablePath = options.chromium ?? process.env['CHROMIUM_PATH'] ?? DEFAULT_CHROMIUM;
  let browser: Awaited<ReturnType<typeof chromium.launch>>;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    throw new PdfUnavailableError(
      `cannot start Chromium at ${executablePath} (set CHROMIUM_PATH): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  try {
    const page = await browser.newPage();
    // The page is self-contained: nothing to load, so no network is waited for.
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}
