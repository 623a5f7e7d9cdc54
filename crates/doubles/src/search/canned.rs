//! Answers as each provider words them, with results a client must keep and ones it must
//! drop (bad schemes, duplicates), and each provider's error envelope.

use serde_json::{Value, json};

/// Brave's error envelope.
pub fn brave_error(status: u16, code: &str, detail: &str) -> String {
    json!({
        "type": "ErrorResponse",
        "error": {"id": "c0ffee00-0000-4000-8000-000000000000", "status": status, "code": code, "detail": detail, "meta": {}},
        "time": 1_764_000_000,
    })
    .to_string()
}

/// Tavily's error envelope.
pub fn tavily_error(message: &str) -> String {
    json!({"detail": {"error": message}}).to_string()
}

/// Google's error envelope.
pub fn google_error(code: u16, message: &str, status: &str) -> String {
    json!({"error": {"code": code, "message": message, "status": status}}).to_string()
}

pub fn searxng_answer(query: &str, empty: bool) -> Value {
    let results = if empty {
        json!([])
    } else {
        json!([
            {"url": "https://en.wikipedia.org/wiki/Eiffel_Tower", "title": "Eiffel Tower - Wikipedia",
             "content": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It was completed in 1889.",
             "engine": "wikipedia", "parsed_url": ["https", "en.wikipedia.org", "/wiki/Eiffel_Tower", "", "", ""],
             "template": "default.html", "engines": ["wikipedia", "duckduckgo"], "positions": [1, 2], "score": 4.0, "category": "general"},
            {"url": "javascript:alert(document.cookie)", "title": "Not a page", "content": "dropped", "engine": "bogus"},
            {"url": "https://www.toureiffel.paris/en/the-monument/history", "title": "History of the <b>Eiffel Tower</b>",
             "content": "Built for the 1889 World&#39;s Fair &amp; inaugurated on 31 March 1889.",
             "engine": "duckduckgo", "engines": ["duckduckgo"], "positions": [2], "score": 1.5, "category": "general",
             "publishedDate": null},
            {"url": "https://en.wikipedia.org/wiki/Eiffel_Tower#History", "title": "Duplicate", "content": "dropped", "engine": "google"},
            {"url": "ftp://files.example.org/eiffel.txt", "title": "FTP", "content": "dropped", "engine": "bogus"}
        ])
    };
    json!({
        "query": query,
        "number_of_results": 0,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": ["eiffel tower height"],
        "unresponsive_engines": [["brave", "timeout"]],
    })
}

pub fn brave_answer(query: &str, empty: bool) -> Value {
    let mut answer = json!({
        "type": "search",
        "query": {"original": query, "show_strict_warning": false, "is_navigational": false,
                  "is_news_breaking": false, "spellcheck_off": true, "country": "us", "bad_results": false,
                  "should_fallback": false, "postal_code": "", "city": "", "header_country": "", "more_results_available": true, "state": ""},
        "mixed": {"type": "mixed", "main": [{"type": "web", "index": 0, "all": false}], "top": [], "side": []},
    });
    if !empty {
        answer["web"] = json!({
            "type": "search",
            "results": [
                {"title": "Eiffel Tower - Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower", "is_source_local": false,
                 "is_source_both": false, "description": "The <strong>Eiffel Tower</strong> is a wrought-iron lattice tower in Paris, completed in <strong>1889</strong>.",
                 "page_age": "2025-11-20T10:00:00", "profile": {"name": "Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
                 "long_name": "en.wikipedia.org", "img": "https://imgs.search.brave.com/x"}, "language": "en", "family_friendly": true,
                 "type": "search_result", "subtype": "generic", "meta_url": {"scheme": "https", "netloc": "en.wikipedia.org",
                 "hostname": "en.wikipedia.org", "favicon": "https://imgs.search.brave.com/y", "path": "› wiki › Eiffel_Tower"},
                 "extra_snippets": ["It is named after the engineer Gustave Eiffel."]},
                {"title": "Bad scheme", "url": "data:text/html,<script>alert(1)</script>", "description": "dropped", "type": "search_result"},
                {"title": "Eiffel Tower | History, Height, &amp; Facts | Britannica", "url": "https://www.britannica.com/topic/Eiffel-Tower-Paris-France",
                 "description": "Eiffel Tower, Parisian landmark that is also a technological masterpiece in building-construction history.",
                 "type": "search_result", "age": "March 3, 2025"}
            ],
            "family_friendly": true,
        });
    }
    answer
}

pub fn tavily_answer(query: &str, empty: bool) -> Value {
    let results = if empty {
        json!([])
    } else {
        json!([
            {"title": "Eiffel Tower - Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
             "content": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. Constructed from 1887 to 1889.",
             "score": 0.91, "raw_content": null, "favicon": "https://en.wikipedia.org/static/favicon/wikipedia.ico"},
            {"title": "Mailto", "url": "mailto:press@example.org", "content": "dropped", "score": 0.5, "raw_content": null},
            {"title": "The Eiffel Tower: facts", "url": "https://www.toureiffel.paris/en/news/history-and-culture/facts",
             "content": "Some facts about the tower, inaugurated in 1889.", "score": 0.83, "raw_content": null}
        ])
    };
    json!({
        "query": query,
        "follow_up_questions": null,
        "answer": null,
        "images": [],
        "results": results,
        "response_time": 1.02,
        "request_id": "123e4567-e89b-12d3-a456-426614174111",
    })
}

pub fn google_answer(empty: bool) -> Value {
    if empty {
        // The API leaves `claims` out when nothing matched.
        return json!({});
    }
    json!({
        "claims": [
            {"text": "The Eiffel Tower was built in 1999.", "claimant": "Viral post", "claimDate": "2024-05-01T00:00:00Z",
             "claimReview": [
                {"publisher": {"name": "Full Fact", "site": "fullfact.org"},
                 "url": "https://fullfact.org/online/eiffel-tower-1999/", "title": "The Eiffel Tower was not built in 1999",
                 "reviewDate": "2024-05-03T00:00:00Z", "textualRating": "False", "languageCode": "en"},
                {"publisher": {"site": "factcheck.example"}, "url": "ftp://factcheck.example/eiffel",
                 "textualRating": "Incorrect", "languageCode": "en"}
             ]},
            {"text": "La tour Eiffel a été construite pour l'Exposition universelle de 1889.",
             "claimReview": [
                {"publisher": {"name": "AFP Factuel", "site": "factuel.afp.com"}, "url": "https://factuel.afp.com/tour-eiffel-1889",
                 "title": "Oui, la tour Eiffel date de 1889", "reviewDate": "2023-03-31T00:00:00Z", "textualRating": "Vrai", "languageCode": "fr"}
             ]}
        ],
        "nextPageToken": "CAo",
    })
}
