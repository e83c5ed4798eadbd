//! Bearer tokens from an OpenID Connect issuer, on every door (REST, MCP, A2A): a test issuer on
//! loopback (`kubently_tests::oidc_issuer`) mints valid tokens and every kind of bad one; only the
//! valid ones pass. The 401 names the protected resource metadata (RFC 9728), read here the way
//! the official MCP Python SDK reads it; the issuer's key rotation is picked up without a restart;
//! token callers are named in audit records and events.

use std::sync::Arc;
use std::time::Duration;

use kubently_gateway::settings::IssuerSettings;
use kubently_tests::app::{AGENT_KEY, ExecutorOptions, TestApp};
use kubently_tests::oidc_issuer::{self, Signer, SigningKey, TestIssuer};
use kubently_tests::process::free_port;
use kubently_tests::python;
use kubently_tests::webhook_receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A gateway that trusts `issuer` as `corp` (tokens of group `agents` may use every cluster),
/// reachable at its `public_url` (the tokens' audience).
async fn gateway_trusting(
    issuer: &TestIssuer,
    change: impl Fn(&mut IssuerSettings) + Send + Sync + 'static,
) -> TestApp {
    let port = free_port();
    let url = issuer.url.clone();
    TestApp::spawn_with(Arc::new(move |s| {
        s.server.port = port;
        s.server.public_url = Some(format!("http://127.0.0.1:{port}"));
        let mut issuer = IssuerSettings {
            name: "corp".into(),
            issuer: url.clone(),
            username_claim: "preferred_username".into(),
            clusters_claim: Some("kubently_clusters".into()),
            admin_groups: vec!["kubently-admins".into()],
            jwks_refresh_min_seconds: 1,
            ..Default::default()
        };
        issuer.group_clusters.insert("agents".into(), vec!["*".into()]);
        change(&mut issuer);
        s.auth.oidc.issuers = vec![issuer];
        s.auth.oidc.scopes_supported = vec!["kubently".into()];
    }))
    .await
}

fn public_url(app: &TestApp) -> String {
    app.gateway.state.settings.server.public_url.clone().expect("public_url")
}

/// `(status, WWW-Authenticate values, body)` of a request with `Authorization: Bearer <token>`.
async fn with_token(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Vec<String>, Value) {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.gateway.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json, text/event-stream");
    if path == "/a2a" {
        request = request.header("A2A-Version", "1.0");
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("gateway reachable");
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    let text = response.text().await.unwrap_or_default();
    (status, challenges, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// One authenticated request per door: REST, MCP `initialize`, an A2A JSON-RPC call.
fn doors() -> Vec<(&'static str, Method, &'static str, Option<Value>)> {
    vec![
        ("REST", Method::GET, "/debug/clusters", None),
        ("MCP", Method::POST, "/mcp", Some(crate::mcp_raw::initialize(1))),
        (
            "A2A",
            Method::POST,
            "/a2a",
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}})),
        ),
    ]
}

#[tokio::test]
async fn only_valid_tokens_pass_on_every_door() {
    let issuer = TestIssuer::start().await;
    let app = gateway_trusting(&issuer, |_| {}).await;
    let aud = public_url(&app);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = issuer.claims("u-1", &aud, json!({"groups": ["agents"]}));
    let rs = issuer.mint(Signer::Rs256, &good);
    let es = issuer.mint(Signer::Es256, &good);
    let ghost = SigningKey::ec("ghost");
    let rsa_key = issuer.key(Signer::Rs256);
    let bad: Vec<(&str, String)> = vec![
        (
            "expired",
            issuer.mint(
                Signer::Es256,
                &issuer.claims("u-1", &aud, json!({"groups": ["agents"], "exp": now - 3600})),
            ),
        ),
        (
            "not yet valid",
            issuer.mint(
                Signer::Es256,
                &issuer.claims("u-1", &aud, json!({"groups": ["agents"], "nbf": now + 3600})),
            ),
        ),
        (
            "wrong audience",
            issuer.mint(
                Signer::Rs256,
                &issuer.claims("u-1", "http://127.0.0.1:1/another-resource", json!({"groups": ["agents"]})),
            ),
        ),
        (
            "wrong issuer",
            issuer.mint(
                Signer::Rs256,
                &issuer.claims(
                    "u-1",
                    &aud,
                    json!({"groups": ["agents"], "iss": "http://127.0.0.1:9/other-idp"}),
                ),
            ),
        ),
        ("unknown kid", ghost.sign(&good)),
        ("alg none", oidc_issuer::unsigned(&good)),
        ("HS256 keyed with the public key", oidc_issuer::hs256_with_public_key(&rsa_key, &good)),
        (
            "tampered",
            oidc_issuer::tampered(&rs, &issuer.claims("u-1", &aud, json!({"groups": ["kubently-admins"]}))),
        ),
        ("not a JWT", "not-a-jwt".to_string()),
    ];
    for (door, method, path, body) in doors() {
        for (alg, token) in [("RS256", &rs), ("ES256", &es)] {
            let (status, _, answer) = with_token(&app, method.clone(), path, token, body.clone()).await;
            assert_eq!(status, 200, "{door}: a valid {alg} token: {answer}");
        }
        for (what, token) in &bad {
            let (status, challenges, answer) =
                with_token(&app, method.clone(), path, token, body.clone()).await;
            assert_eq!(status, 401, "{door}: {what} token: {answer}");
            let bearer = challenges
                .iter()
                .find(|c| c.starts_with("Bearer "))
                .unwrap_or_else(|| panic!("{challenges:?}"));
            assert!(
                bearer.contains(&format!("resource_metadata=\"{aud}/.well-known/oauth-protected-resource\""))
                    && bearer.contains("error=\"invalid_token\""),
                "{door}: {what}: {bearer}"
            );
            assert!(challenges.iter().any(|c| c == "ApiKey"), "API keys stay accepted: {challenges:?}");
            assert!(!answer.to_string().contains(token.as_str()), "{door}: the token is echoed: {answer}");
        }
    }
    // The refusals say which check failed.
    for (i, says) in
        [(0, "expired"), (2, "another resource"), (3, "not trusted"), (6, "HS256 is not accepted")]
    {
        let (_, _, answer) = with_token(&app, Method::GET, "/debug/clusters", &bad[i].1, None).await;
        assert!(answer["detail"].as_str().unwrap_or_default().contains(says), "{}: {answer}", bad[i].0);
    }
    // API keys keep working beside tokens; both at once is ambiguous.
    let (status, _) = app.get("/debug/clusters").await;
    assert_eq!(status, 200);
    let response = app
        .http
        .get(format!("{}/debug/clusters", app.gateway.url))
        .header("Authorization", format!("Bearer {rs}"))
        .header("X-API-Key", AGENT_KEY)
        .send()
        .await
        .expect("gateway reachable");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn claims_decide_clusters_admin_and_scopes() {
    let issuer = TestIssuer::start().await;
    let app = gateway_trusting(&issuer, |i| i.required_scopes = vec!["kubently".into()]).await;
    let aud = public_url(&app);
    let token = |extra: Value| issuer.mint(Signer::Es256, &issuer.claims("u-2", &aud, extra));
    // Without the required scope: 401 insufficient_scope, naming the scope.
    let (status, challenges, _) =
        with_token(&app, Method::GET, "/debug/clusters", &token(json!({"groups": ["agents"]})), None).await;
    assert_eq!(status, 401);
    assert!(
        challenges[0].contains("error=\"insufficient_scope\"")
            && challenges[0].contains("scope=\"kubently\""),
        "{challenges:?}"
    );
    // A valid token that grants no cluster is forbidden (not "every cluster").
    let (status, _, body) = with_token(
        &app,
        Method::GET,
        "/debug/clusters",
        &token(json!({"scope": "openid kubently", "groups": ["nobody"]})),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("corp:u-2"), "{body}");
    // Clusters from the claim: another cluster only, so this one is out of reach.
    let elsewhere = token(json!({"scope": "kubently", "kubently_clusters": ["elsewhere"]}));
    let (status, _, body) = with_token(
        &app,
        Method::POST,
        "/debug/execute",
        &elsewhere,
        Some(json!({"cluster_id": app.cluster_id, "command_type": "version"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // An admin group: the admin endpoints.
    let admin = token(json!({"scope": "kubently", "groups": ["kubently-admins"]}));
    let (status, _, body) = with_token(&app, Method::GET, "/admin/agents", &admin, None).await;
    assert_eq!(status, 200, "{body}");
    let member = token(json!({"scope": "kubently", "groups": ["agents"]}));
    let (status, _, _) = with_token(&app, Method::GET, "/admin/agents", &member, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn token_callers_are_named_in_audit_and_events() {
    let issuer = TestIssuer::start().await;
    let app = gateway_trusting(&issuer, |_| {}).await;
    let _executor = app.start_executor("e1", ExecutorOptions::default()).await;
    let aud = public_url(&app);
    let token = issuer.mint(
        Signer::Rs256,
        &issuer.claims("u-3", &aud, json!({"groups": ["agents"], "preferred_username": "carol"})),
    );
    let receiver = Receiver::start().await;
    let (status, _, sub) = with_token(
        &app,
        Method::POST,
        "/webhooks/subscriptions",
        &token,
        Some(json!({"url": receiver.url("/events"), "events": ["command.*"], "clusters": [app.cluster_id]})),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let (status, _, ran) = with_token(
        &app,
        Method::POST,
        "/debug/execute",
        &token,
        Some(json!({"cluster_id": app.cluster_id, "command_type": "version"})),
    )
    .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["status"], "success", "{ran}");
    let command_id = ran["command_id"].as_str().expect("command id").to_string();

    let (status, _, audit) =
        with_token(&app, Method::GET, &format!("/audit?cluster_id={}", app.cluster_id), &token, None).await;
    assert_eq!(status, 200, "{audit}");
    let entry = audit["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["command_id"] == command_id.as_str()))
        .unwrap_or_else(|| panic!("no audit entry for {command_id}: {audit}"));
    assert_eq!(entry["service_identity"], "corp:u-3", "{entry}");
    assert_eq!(entry["issuer"], issuer.url.as_str(), "{entry}");
    assert_eq!(entry["subject"], "u-3", "{entry}");
    // Another token's caller does not see it; the API key's owner neither.
    let other = issuer.mint(Signer::Rs256, &issuer.claims("u-4", &aud, json!({"groups": ["agents"]})));
    let (_, _, theirs) =
        with_token(&app, Method::GET, &format!("/debug/result/{command_id}"), &other, None).await;
    assert!(theirs["detail"].is_string(), "another token caller reads the result: {theirs}");

    let is_ours = |r: &kubently_tests::webhook_receiver::Received| {
        serde_json::from_slice::<Value>(&r.body).is_ok_and(|e| e["data"]["command_id"] == command_id.as_str())
    };
    let event = receiver
        .wait_for(Duration::from_secs(20), "the command's event", |got| got.iter().any(is_ours))
        .await
        .into_iter()
        .find(is_ours)
        .map(|r| serde_json::from_slice::<Value>(&r.body).expect("event JSON"))
        .expect("the command's event");
    assert_eq!(event["data"]["caller"], "corp:u-3", "{event}");
    assert_eq!(event["data"]["caller_token"], json!({"issuer": issuer.url, "subject": "u-3"}), "{event}");
}

#[tokio::test]
async fn issuer_key_rotation_is_picked_up_without_a_restart() {
    let issuer = TestIssuer::start().await;
    let app = gateway_trusting(&issuer, |_| {}).await;
    let aud = public_url(&app);
    let claims = issuer.claims("u-5", &aud, json!({"groups": ["agents"]}));
    let (status, _, _) =
        with_token(&app, Method::GET, "/debug/clusters", &issuer.mint(Signer::Es256, &claims), None).await;
    assert_eq!(status, 200);
    let fetched = issuer.jwks_fetches();
    // Known keys are served from the cache.
    for _ in 0..5 {
        let (status, _, _) =
            with_token(&app, Method::GET, "/debug/clusters", &issuer.mint(Signer::Rs256, &claims), None)
                .await;
        assert_eq!(status, 200);
    }
    assert_eq!(issuer.jwks_fetches(), fetched, "no refetch for known keys");
    // The issuer rotates: a token from the new key makes the gateway refetch once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = issuer.rotate_ec();
    let (status, _, body) = with_token(&app, Method::GET, "/debug/clusters", &new.sign(&claims), None).await;
    assert_eq!(status, 200, "the rotated key is fetched: {body}");
    assert_eq!(issuer.jwks_fetches(), fetched + 1);
    // Tokens naming made-up keys cannot make it hammer the issuer: at most one fetch per second.
    let forged: Vec<String> =
        (0..20).map(|i| SigningKey::ec(&format!("made-up-{i}")).sign(&claims)).collect();
    let started = std::time::Instant::now();
    for token in &forged {
        let (status, _, _) = with_token(&app, Method::GET, "/debug/clusters", token, None).await;
        assert_eq!(status, 401);
    }
    let allowed = 1 + started.elapsed().as_secs() as usize;
    assert!(issuer.jwks_fetches() <= fetched + 1 + allowed, "{} fetches", issuer.jwks_fetches() - fetched);
}

#[tokio::test]
async fn protected_resource_metadata_as_the_mcp_sdk_reads_it() {
    let issuer = TestIssuer::start().await;
    let app = gateway_trusting(&issuer, |_| {}).await;
    let resource = public_url(&app);
    let (status, metadata) =
        app.request(Method::GET, "/.well-known/oauth-protected-resource", None, None).await;
    assert_eq!(status, 200, "served without credentials: {metadata}");
    assert_eq!(metadata["resource"], resource.as_str());
    assert_eq!(metadata["authorization_servers"], json!([issuer.url]));
    assert_eq!(metadata["scopes_supported"], json!(["kubently"]));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));

    // The official MCP Python SDK: the 401's WWW-Authenticate, the discovery URLs it builds, the
    // metadata it validates, and whether the MCP URL is within the resource.
    let out = python::run_json("mcp_auth_client.py", vec![format!("{resource}/mcp")]).await;
    assert_eq!(out["status"], 401, "{out}");
    assert_eq!(out["resource_metadata"], format!("{resource}/.well-known/oauth-protected-resource"), "{out}");
    assert_eq!(out["discovery_urls"][0], out["resource_metadata"], "{out}");
    assert_eq!(out["metadata"]["resource"], resource.as_str(), "{out}");
    assert_eq!(out["metadata"]["authorization_servers"], json!([issuer.url]), "{out}");
    assert_eq!(out["resource_allowed"], true, "{out}");

    // The agent card declares the OpenID Connect scheme next to the API key.
    let (status, card) = app.request(Method::GET, "/.well-known/agent-card.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        card["securitySchemes"]["oidc-corp"]["openIdConnectSecurityScheme"]["openIdConnectUrl"],
        format!("{}/.well-known/openid-configuration", issuer.url),
        "{card}"
    );
    assert!(card["securitySchemes"]["api_key"].is_object(), "{card}");
}

#[tokio::test]
async fn a_deployment_may_turn_api_keys_off() {
    let issuer = TestIssuer::start().await;
    let port = free_port();
    let url = issuer.url.clone();
    let app = TestApp::spawn_with(Arc::new(move |s| {
        s.server.port = port;
        s.server.public_url = Some(format!("http://127.0.0.1:{port}"));
        s.auth.api_keys_enabled = false;
        let mut i = IssuerSettings { name: "corp".into(), issuer: url.clone(), ..Default::default() };
        i.group_clusters.insert("agents".into(), vec!["*".into()]);
        s.auth.oidc.issuers = vec![i];
    }))
    .await;
    let response = app
        .http
        .get(format!("{}/debug/clusters", app.gateway.url))
        .header("X-API-Key", AGENT_KEY)
        .send()
        .await
        .expect("gateway reachable");
    assert_eq!(response.status(), 401);
    let challenges: Vec<_> = response.headers().get_all("www-authenticate").iter().cloned().collect();
    assert_eq!(challenges.len(), 1, "only the bearer scheme is offered: {challenges:?}");
    let token =
        issuer.mint(Signer::Rs256, &issuer.claims("u-6", &public_url(&app), json!({"groups": ["agents"]})));
    let (status, _, card) = with_token(&app, Method::GET, "/.well-known/agent-card.json", &token, None).await;
    assert_eq!(status, 200);
    assert!(card["securitySchemes"].get("api_key").is_none(), "{card}");
    let (status, _, _) = with_token(&app, Method::GET, "/debug/clusters", &token, None).await;
    assert_eq!(status, 200);
}
