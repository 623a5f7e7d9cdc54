//! The sandbox's HTML pages: Stripe's hosted checkout and billing portal, as plain pages a
//! person can use in a browser, and the page Stripe's return URLs lead to when no
//! `CLIENT_URL` is set. Every value shown is escaped.

use entity::{transactions, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    domain::{escape_html as e, format_usd, http_date},
    services::ServiceResult,
    state::AppState,
};
use doubles::stripe::CheckoutRecord;

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\
.banner{{background:#fff3cd;border:1px solid #e0c36b;padding:.5rem .75rem;border-radius:6px;font-size:.9rem}}\
button,.button{{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:1px solid #444;background:#222;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}}\
.secondary{{background:#fff;color:#222}}table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}}</style></head>\
<body><p class=\"banner\">SANDBOX: no real payment, no real account. Nothing here leaves this server.</p>{body}</body></html>",
        title = e(title)
    )
}

/// Stripe's hosted checkout: what is bought, Pay and Cancel.
pub fn checkout(session: &CheckoutRecord) -> String {
    let pay = format!("{}/checkout/{}/pay", super::PREFIX, session.id);
    layout(
        "Sandbox checkout",
        &format!(
            "<h1>Checkout</h1><p id=\"amount\">Amount: <strong>${amount}</strong></p>\
<p id=\"credits\">Credits: <strong>{credits}</strong></p><p>Session <code>{id}</code></p>\
<form method=\"post\" action=\"{pay}\"><button id=\"pay\" type=\"submit\">Pay ${amount}</button> \
<a id=\"cancel\" class=\"button secondary\" href=\"{cancel}\">Cancel</a></form>",
            amount = format_usd(session.amount_cents),
            credits = e(session.credits()),
            id = e(&session.id),
            pay = e(&pay),
            cancel = e(&session.cancel_url),
        ),
    )
}

/// A purchase as the portal lists it.
pub struct Purchase {
    pub at: String,
    pub credits: String,
    pub usd: String,
    pub session: String,
}

/// The account's e-mail and purchases (newest first), or None for an unknown customer.
pub async fn purchases(state: &AppState, customer_id: &str) -> ServiceResult<Option<(String, Vec<Purchase>)>> {
    let Some(user) =
        users::Entity::find().filter(users::Column::StripeCustomerId.eq(customer_id)).one(&state.db).await?
    else {
        return Ok(None);
    };
    let rows = transactions::Entity::find()
        .filter(transactions::Column::UserId.eq(&user.id))
        .filter(transactions::Column::StripeSessionId.is_not_null())
        .order_by_desc(transactions::Column::Seq)
        .all(&state.db)
        .await?;
    let purchases = rows
        .into_iter()
        .map(|t| Purchase {
            at: http_date(t.created_at),
            credits: crate::domain::format_trimmed(t.value_in_credits),
            usd: format_usd(t.value_in_fiat),
            session: t.stripe_session_id.unwrap_or_default(),
        })
        .collect();
    Ok(Some((user.email, purchases)))
}

/// Stripe's billing portal: the account's purchases, and the way back.
pub fn portal(email: &str, purchases: &[Purchase], return_url: Option<&str>) -> String {
    let rows: String = purchases
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>${}</td><td><code>{}</code></td></tr>",
                e(&p.at),
                e(&p.credits),
                e(&p.usd),
                e(&p.session)
            )
        })
        .collect();
    let table = if purchases.is_empty() {
        "<p id=\"none\">No purchases yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"purchases\"><tr><th>Date</th><th>Credits</th><th>Paid</th><th>Session</th></tr>{rows}</table>"
        )
    };
    let back = return_url
        .map(|url| format!("<p><a class=\"button secondary\" href=\"{}\">Back</a></p>", e(url)))
        .unwrap_or_default();
    layout(
        "Sandbox billing portal",
        &format!("<h1>Billing</h1><p>Account: <strong>{}</strong></p>{table}{back}", e(email)),
    )
}

/// Where Stripe's success and cancel URLs lead without a `CLIENT_URL`.
pub fn returned(stripe_status: Option<&str>) -> String {
    let (heading, text) = match stripe_status {
        Some("success") => ("Payment complete", "The credits are on the account: see Get User, or List Transactions."),
        Some("cancel") => ("Payment cancelled", "Nothing was charged."),
        _ => ("Clara sandbox", "This page stands in for your web app."),
    };
    layout(
        heading,
        &format!(
            "<h1 id=\"outcome\">{heading}</h1><p>{text}</p><p><a class=\"button\" href=\"/docs\">Back to the API docs</a></p>"
        ),
    )
}
