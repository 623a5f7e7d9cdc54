// Swagger UI in a real browser: Debian's Chromium, driven by playwright-core, opens /docs on
// a sandbox server (`clara-backend --sandbox`). Every tag of the spec must be listed, and
// "Try it out" must get the server's own answer for Health and for Register. Then a
// person's whole journey, done from /docs with "Try it out" and "Authorize" alone:
// Register (public key entered in Authorize) → Mailbox (the sandbox's, for the activation
// code) → Activate → Login (Basic auth entered in Authorize) → Authorize with the session
// as BearerAuth → Buy → the returned checkout URL opened in a new page, Pay clicked →
// the success page → Get User shows the credits → Analysis (the multipart form's `text`
// field typed, a picture chosen for `files`) → View Task until COMPLETED, the findings
// quoting the text and naming the picture → Get User shows the cost debited.
//
// Every request the browser makes must go to the server under test: any other is aborted
// and fails the run.
//
// Environment: BASE, PUBLIC_KEY, SCREENSHOT (the Swagger page's PNG) and
// CHECKOUT_SCREENSHOT (the checkout page's PNG).
import { chromium } from "playwright-core";

const base = process.env.BASE;
const publicKey = process.env.PUBLIC_KEY;
const screenshot = process.env.SCREENSHOT ?? "swagger-ui.png";
// The same server as http://localhost:<port>: browsers run WebAuthn on localhost over http,
// not on an IP address. Unset: the passkey part is skipped.
const passkeyOrigin = process.env.PASSKEY_ORIGIN ?? null;
const checkoutScreenshot = process.env.CHECKOUT_SCREENSHOT ?? "sandbox-checkout.png";

function check(condition, message) {
  if (!condition) throw new Error(`browser: ${message}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A 1×1 PNG, the picture attached to the analysis.
const PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

check(base && publicKey, "BASE and PUBLIC_KEY must be set");
const origin = new URL(base).origin;
check(new URL(base).hostname === "127.0.0.1", `BASE must be on 127.0.0.1: ${base}`);

const spec = await (await fetch(`${base}/openapi.json`)).json();
const tags = spec.tags.map((tag) => tag.name);
check(tags.includes("Sandbox"), `the server is not in sandbox mode (tags: ${tags})`);

function tagOf(operationId) {
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) if (op.operationId === operationId) return op.tags[0];
  }
  throw new Error(`browser: no operation ${operationId}`);
}

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
const strays = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  // Nothing leaves the machine: only the server under test is reachable.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || [origin, passkeyOrigin].includes(new URL(url).origin)) return route.continue();
    strays.push(url);
    return route.abort();
  });
  // Each page runs whole under the content security policy its route declares: anything
  // the policy refuses on the docs page or the checkout page fails the check.
  const refused = [];
  const watchPolicy = (watched, name) =>
    watched.on("console", (message) => {
      if (message.type() === "error" && message.text().includes("Content Security Policy")) {
        refused.push(`${name}: ${message.text()}`);
      }
    });
  const page = await context.newPage();
  watchPolicy(page, "Swagger UI");
  await page.goto(`${base}/docs`, { waitUntil: "load" });
  await page.waitForSelector(".opblock-tag", { timeout: 30000 });

  const listed = await page.$$eval(".opblock-tag", (nodes) => nodes.map((n) => n.getAttribute("data-tag")));
  for (const tag of tags) check(listed.includes(tag), `tag ${tag} is not listed (listed: ${listed})`);

  /** Opens Authorize, fills the scheme's fields, authorizes, closes the dialog. */
  async function authorize(scheme, fill) {
    await page.click(".auth-wrapper button.authorize");
    const container = page.locator(".auth-container", { hasText: scheme });
    await container.waitFor({ timeout: 10000 });
    await fill(container);
    await container.locator("button.authorize").click();
    await container.locator("h6", { hasText: "Authorized" }).waitFor({ timeout: 10000 });
    await page.click("button.close-modal");
  }

  const opened = new Set();
  /**
   * "Try it out" on an operation: fills path parameters, a JSON body or a form's fields,
   * executes, and returns the live response's status and body text.
   */
  async function tryItOut(operationId, { params = {}, body, form = {}, files = {} } = {}) {
    const block = page.locator(`#operations-${tagOf(operationId)}-${operationId}`);
    if (!opened.has(operationId)) {
      await block.locator(".opblock-summary").click();
      await block.locator("button.try-out__btn").click();
      opened.add(operationId);
    } else if (await block.locator("button.btn-clear").count()) {
      await block.locator("button.btn-clear").click();
    }
    for (const [name, value] of Object.entries(params)) {
      await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
    }
    if (body !== undefined) await block.locator("textarea.body-param__text").fill(JSON.stringify(body));
    for (const [name, value] of Object.entries(form)) {
      const row = block.locator(`.opblock-section-request-body tr[data-property-name="${name}"]`);
      await row.locator("input[type=text], textarea").first().fill(value);
    }
    for (const [name, file] of Object.entries(files)) {
      const row = block.locator(`.opblock-section-request-body tr[data-property-name="${name}"]`);
      await row.locator("input[type=file]").first().setInputFiles(file);
    }
    await block.locator("button.execute").click();
    const live = block.locator(".live-responses-table .response .response-col_status").first();
    await live.waitFor({ timeout: 30000 });
    const status = (await live.innerText()).trim();
    const bodyBlock = block.locator(".live-responses-table .response-col_description pre").first();
    await bodyBlock.waitFor({ timeout: 30000 });
    const text = await bodyBlock.innerText();
    return { status, text, json: () => JSON.parse(text) };
  }

  const health = await tryItOut("miscHealth");
  check(health.status === "200" && health.text.includes("Health check successful."), `health: ${JSON.stringify(health)}`);

  // Register, with the public key entered through Authorize.
  await authorize("ApiKey", (c) => c.locator("input").fill(publicKey));
  const email = `browser-${Date.now()}@example.com`;
  const password = "a password typed in a browser";
  const register = await tryItOut("authRegister", {
    body: { first_name: "Swagger", last_name: "Browser", email, password },
  });
  check(
    register.status === "201" && register.text.includes("User registered successfully.") && register.text.includes(email),
    `register: ${JSON.stringify(register)}`,
  );
  const userId = register.json().data.id;

  // The activation code, from the sandbox's mailbox.
  let code;
  for (let i = 0; i < 20 && !code; i++) {
    if (i) await sleep(250);
    const mailbox = await tryItOut("sandboxMailbox", { params: { email } });
    check(mailbox.status === "200", `mailbox: ${JSON.stringify(mailbox)}`);
    code = mailbox.json().data.find((mail) => mail.otp_type === "ACTIVATION")?.code;
  }
  check(/^\d{6}$/.test(code ?? ""), `an activation code in the mailbox: ${code}`);

  const activate = await tryItOut("authActivate", { params: { user_email: email }, body: { code } });
  check(activate.status === "200" && activate.json().data.is_active === true, `activate: ${JSON.stringify(activate)}`);

  // Log in with Basic auth entered through Authorize.
  await authorize("BasicAuth", async (c) => {
    await c.locator("input[type=text]").fill(email);
    await c.locator("input[type=password]").fill(password);
  });
  const login = await tryItOut("authLogin", { body: {} });
  check(login.status === "200" && login.text.includes("clara_user_"), `login: ${JSON.stringify(login)}`);
  const token = login.json().data.token;

  // The session as BearerAuth.
  await authorize("BearerAuth", (c) => c.locator("input").fill(token));

  const bought = await tryItOut("stripeBuy", { body: { amount: 5, return_path: "/billing" } });
  check(bought.status === "201", `buy: ${JSON.stringify(bought)}`);
  const checkoutUrl = bought.json().data.url;
  check(checkoutUrl.startsWith(`${origin}/api/v1/sandbox/checkout/`), `the sandbox's checkout: ${checkoutUrl}`);
  check(bought.json().data.value_in_credits === 500, `500 credits for $5: ${bought.text}`);

  // The checkout page, in a new page: what is bought, then Pay.
  const checkout = await context.newPage();
  watchPolicy(checkout, "the checkout page");
  await checkout.goto(checkoutUrl, { waitUntil: "load" });
  const amount = (await checkout.locator("#amount").innerText()).trim();
  const credits = (await checkout.locator("#credits").innerText()).trim();
  check(amount.includes("$5"), `the checkout's amount: ${amount}`);
  check(credits.includes("500"), `the checkout's credits: ${credits}`);
  check(await checkout.locator("#cancel").count() === 1, "the checkout offers Cancel");
  await checkout.screenshot({ path: checkoutScreenshot, fullPage: false });
  check(refused.length === 0, `the pages' content security policies refused nothing: ${[...new Set(refused)].join("; ")}`);
  await Promise.all([checkout.waitForURL(/stripe_status=success/, { timeout: 30000 }), checkout.click("#pay")]);
  const outcome = (await checkout.locator("#outcome").innerText()).trim();
  check(outcome === "Payment complete", `the success page: ${outcome} at ${checkout.url()}`);
  check(new URL(checkout.url()).origin === origin, `the success page is the server's: ${checkout.url()}`);
  await checkout.close();

  // Back in Swagger: the credits are on the account.
  await page.bringToFront();
  const viewed = await tryItOut("usersGet", { params: { user_id: userId } });
  check(viewed.status === "200" && viewed.json().data.credits === 500, `credits after paying: ${viewed.text}`);

  // An analysis: the multipart form's `text` field typed in Swagger, and a picture chosen
  // for its `files` field. (Swagger UI cannot leave `files` out: with no file chosen it
  // sends `files` as a plain field, "string" or empty, which the server refuses with 400
  // invalid_parameters; so a file is chosen, as a person attaching a photo would.)
  const claim = "The Eiffel Tower was completed in 1889.";
  const started = await tryItOut("agentAnalysis", {
    params: { user_id: userId },
    form: { text: claim },
    files: { files: { name: "tower.png", mimeType: "image/png", buffer: Buffer.from(PIXEL_PNG, "base64") } },
  });
  check(started.status === "201", `analysis: ${JSON.stringify(started)}`);
  check(started.json().data.input === claim, `the task holds the text typed: ${started.text}`);
  check(started.json().data.attachments.length === 1, `the task holds the file chosen: ${started.text}`);
  const taskId = started.json().data.id;

  let task;
  for (let i = 0; i < 40; i++) {
    if (i) await sleep(250);
    const viewedTask = await tryItOut("tasksGet", { params: { user_id: userId, task_id: taskId } });
    check(viewedTask.status === "200", `view task: ${JSON.stringify(viewedTask)}`);
    task = viewedTask.json().data;
    if (task.status === "COMPLETED" || task.status === "FAILED") break;
  }
  check(task.status === "COMPLETED", `the analysis ended ${task.status}: ${task.error}`);
  check(
    task.result?.findings?.some((finding) => finding.includes("The Eiffel Tower was completed")),
    `the findings quote the text: ${JSON.stringify(task.result)}`,
  );
  check(
    task.result.findings.some((finding) => finding.startsWith("Looked at the image")),
    `the findings name the picture: ${JSON.stringify(task.result)}`,
  );
  const after = await tryItOut("usersGet", { params: { user_id: userId } });
  check(after.json().data.credits === 480, `credits after the analysis: ${after.text}`);

  await page.locator(`#operations-${tagOf("usersGet")}-usersGet`).scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });

  if (passkeyOrigin) {
    check(new URL(passkeyOrigin).hostname === "localhost", `PASSKEY_ORIGIN must be localhost: ${passkeyOrigin}`);
    // A passkey, made by the page's navigator.credentials.create against a virtual
    // authenticator (Chrome DevTools Protocol), then used to sign in after signing out.
    const keyPage = await context.newPage();
    await keyPage.goto(`${passkeyOrigin}/docs`, { waitUntil: "load" });
    const cdp = await context.newCDPSession(keyPage);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const outcome = await keyPage.evaluate(
      async ({ userId, token, publicKey, password }) => {
        const fromB64 = (value) => {
          const text = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4));
          return Uint8Array.from(text, (c) => c.charCodeAt(0)).buffer;
        };
        const toB64 = (buffer) =>
          btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
        const call = async (method, path, auth, body) => {
          const headers = { "Content-Type": "application/json" };
          if (auth) headers.Authorization = auth;
          const response = await fetch(`/api/v1${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
          const text = await response.text();
          return { status: response.status, json: text ? JSON.parse(text) : null };
        };
        const bearer = `Bearer ${token}`;
        // Adding a way in needs a fresh proof besides the session: the password (2FA is off).
        const options = await call("POST", `/users/${userId}/passkeys/options`, bearer, { password });
        if (options.status !== 200) return { step: "registration options", ...options };
        const create = options.json.data.publicKey;
        create.challenge = fromB64(create.challenge);
        create.user.id = fromB64(create.user.id);
        create.excludeCredentials = (create.excludeCredentials ?? []).map((c) => ({ ...c, id: fromB64(c.id) }));
        const made = await navigator.credentials.create({ publicKey: create });
        const registered = await call("POST", `/users/${userId}/passkeys`, bearer, {
          name: "Chromium virtual authenticator",
          credential: {
            id: made.id,
            rawId: toB64(made.rawId),
            type: made.type,
            response: {
              attestationObject: toB64(made.response.attestationObject),
              clientDataJSON: toB64(made.response.clientDataJSON),
            },
            extensions: {},
          },
        });
        if (registered.status !== 201) return { step: "registration", ...registered };
        const signedOut = await call("DELETE", "/auth/session", bearer);
        const refused = await call("GET", `/users/${userId}`, bearer);
        const start = await call("POST", "/auth/passkey/options", publicKey);
        if (start.status !== 200) return { step: "sign-in options", ...start };
        const request = start.json.data.publicKey;
        request.challenge = fromB64(request.challenge);
        request.allowCredentials = (request.allowCredentials ?? []).map((c) => ({ ...c, id: fromB64(c.id) }));
        const assertion = await navigator.credentials.get({ publicKey: request });
        const signedIn = await call("POST", "/auth/passkey", publicKey, {
          challenge_id: start.json.data.challenge_id,
          credential: {
            id: assertion.id,
            rawId: toB64(assertion.rawId),
            type: assertion.type,
            response: {
              authenticatorData: toB64(assertion.response.authenticatorData),
              clientDataJSON: toB64(assertion.response.clientDataJSON),
              signature: toB64(assertion.response.signature),
              userHandle: assertion.response.userHandle ? toB64(assertion.response.userHandle) : null,
            },
            extensions: {},
          },
        });
        const fresh = signedIn.json?.data?.token;
        const viewed = fresh ? await call("GET", `/users/${userId}`, `Bearer ${fresh}`) : null;
        return {
          step: "done",
          registered: registered.json.data,
          signedOut: signedOut.status,
          refused: refused.status,
          signedIn: signedIn.status,
          message: signedIn.json?.message,
          viewed: viewed?.status,
        };
      },
      { userId, token, publicKey, password },
    );
    check(outcome.step === "done", `passkey ceremony: ${JSON.stringify(outcome)}`);
    check(outcome.registered.name === "Chromium virtual authenticator", `passkey: ${JSON.stringify(outcome)}`);
    check(outcome.signedOut === 204 && outcome.refused === 401, `signed out: ${JSON.stringify(outcome)}`);
    check(outcome.signedIn === 200 && outcome.viewed === 200, `passkey sign-in: ${JSON.stringify(outcome)}`);
    console.log("browser: passkey registered through navigator.credentials.create (virtual authenticator), signed out, signed in with it");
  }
  check(strays.length === 0, `requests to elsewhere were aborted: ${strays}`);
  console.log(
    `browser: ok (${tags.length} tags listed; through "Try it out": health, register, mailbox code, activate, ` +
      `login (Basic), Bearer authorized, buy; checkout page paid, "Payment complete"; 500 credits; ` +
      `analysis (text + picture) COMPLETED, 480 credits left)`,
  );
  console.log(`browser: screenshot of Swagger UI: ${screenshot}`);
  console.log(`browser: screenshot of the checkout page: ${checkoutScreenshot}`);
} finally {
  await browser.close();
}
