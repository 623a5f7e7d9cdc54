// Swagger UI in a real browser: Debian's Chromium, driven by playwright-core, opens /docs on
// a live server. Every tag of the spec must be listed, and "Try it out" must get the
// server's own answer for Health and for Register (with the public key entered through
// "Authorize"). Saves a screenshot.
//
// Environment: BASE, PUBLIC_KEY, SCREENSHOT (path of the PNG to write).
import { chromium } from "playwright-core";

const base = process.env.BASE;
const publicKey = process.env.PUBLIC_KEY;
const screenshot = process.env.SCREENSHOT ?? "swagger-ui.png";

function check(condition, message) {
  if (!condition) throw new Error(`browser: ${message}`);
}

const spec = await (await fetch(`${base}/openapi.json`)).json();
const tags = spec.tags.map((tag) => tag.name);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${base}/docs`, { waitUntil: "load" });
  await page.waitForSelector(".opblock-tag", { timeout: 30000 });

  const listed = await page.$$eval(".opblock-tag", (nodes) => nodes.map((n) => n.getAttribute("data-tag")));
  for (const tag of tags) check(listed.includes(tag), `tag ${tag} is not listed (listed: ${listed})`);

  // Authorize with the public key.
  await page.click("button.authorize");
  const dialog = page.locator(".auth-container", { hasText: "PublicApiKey" });
  await dialog.locator("input").fill(publicKey);
  await dialog.locator("button.authorize").click();
  await page.click("button.close-modal");

  async function tryItOut(operationId, body) {
    const block = page.locator(`#operations-${await tagOf(operationId)}-${operationId}`);
    await block.locator(".opblock-summary").click();
    await block.locator("button.try-out__btn").click();
    if (body !== undefined) await block.locator("textarea.body-param__text").fill(JSON.stringify(body));
    await block.locator("button.execute").click();
    const live = block.locator(".live-responses-table .response .response-col_status").first();
    await live.waitFor({ timeout: 30000 });
    const status = (await live.innerText()).trim();
    const bodyBlock = block.locator(".live-responses-table .response-col_description pre").first();
    await bodyBlock.waitFor({ timeout: 30000 });
    const text = await bodyBlock.innerText();
    return { status, text };
  }

  async function tagOf(operationId) {
    for (const item of Object.values(spec.paths)) {
      for (const op of Object.values(item)) if (op.operationId === operationId) return op.tags[0];
    }
    throw new Error(`no operation ${operationId}`);
  }

  const health = await tryItOut("miscHealth");
  check(health.status === "200" && health.text.includes("Health check successful."), `health: ${JSON.stringify(health)}`);

  const email = `browser-${Date.now()}@example.com`;
  const register = await tryItOut("authRegister", {
    first_name: "Swagger",
    last_name: "Browser",
    email,
    password: "a password typed in a browser",
  });
  check(
    register.status === "201" && register.text.includes("User registered successfully.") && register.text.includes(email),
    `register: ${JSON.stringify(register)}`,
  );

  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`browser: ok (${tags.length} tags listed; health 200 and register 201 through "Try it out"; screenshot ${screenshot})`);
} finally {
  await browser.close();
}
