//! Table-driven tests of the template language; expected texts are what kubectl 1.32 printed
//! for the same templates on the same data.

use serde_json::{Value, json};

use super::columns::relaxed;
use super::*;

fn pods() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "checkout-1", "namespace": "shop", "labels": {"app": "checkout", "app.kubernetes.io/part-of": "demo", "pod-template-hash": "78956bb89d"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "checkout-rs"}]},
                "spec": {"containers": [{"name": "checkout", "image": "checkout:1.8.0", "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "lastProbeTime": null}],
                    "containerStatuses": [{"name": "checkout", "ready": false, "restartCount": 0, "state": {"running": {"startedAt": "t"}}}]}
            },
            {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "orders-api-1", "namespace": "shop", "labels": {"app": "orders-api"}},
                "spec": {"containers": [{"name": "orders-api", "image": "orders:2.4.1"}, {"name": "sidecar", "image": "envoy"}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "orders-api", "ready": false, "restartCount": 47,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
            },
            {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "storefront-1", "namespace": "shop", "labels": {"app": "storefront"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25.3"}]},
                "status": {"phase": "Pending", "ratio": 0.5}
            }
        ]
    })
}

fn run(template: &str, data: &Value) -> Result<String, TemplateError> {
    JsonPath::parse(template)?.execute(data)
}

#[test]
fn templates_print_like_kubectl() {
    let data = pods();
    let cases: &[(&str, &str)] = &[
        ("{.items[*].metadata.name}", "checkout-1 orders-api-1 storefront-1"),
        ("{.kind}", "List"),
        ("{@.kind}{$.kind}", "ListList"),
        ("kind={.kind}, first={.items[0].metadata.name}\n", "kind=List, first=checkout-1\n"),
        ("{.metadata}", r#"{"resourceVersion":""}"#),
        (
            "{.items[0].metadata.labels}",
            r#"{"app":"checkout","app.kubernetes.io/part-of":"demo","pod-template-hash":"78956bb89d"}"#,
        ),
        ("{.items[0].metadata.labels.*}", "checkout demo 78956bb89d"),
        ("{.items[0].metadata.labels.app\\.kubernetes\\.io/part-of}", "demo"),
        // client-go re-parses `['a.b']` as `.a.b`: nothing is found.
        ("{.items[0].metadata.labels['app.kubernetes.io/part-of']}", ""),
        ("{.items[0].metadata.labels['app']}", "checkout"),
        (
            "{.items[0].spec.containers[0].ports}",
            r#"[{"containerPort":8080,"name":"http","protocol":"TCP"}]"#,
        ),
        ("{.items[0].status.conditions[0].lastProbeTime}", "null"),
        ("{.items[*].status.containerStatuses[0].restartCount}", "0 47"),
        ("{.items[2].status.ratio} {true} {3} {-2} {1.5}", "0.5 true 3 -2 1.5"),
        ("{.nope}", ""),
        ("{.}", ""),
        ("{.items[0].nope.deeper}", ""),
        // indexes and slices
        ("{.items[-1].metadata.name}", "storefront-1"),
        ("{.items[-1:].metadata.name}", "storefront-1"),
        ("{.items[:2].metadata.name}", "checkout-1 orders-api-1"),
        ("{.items[0:3:2].metadata.name}", "checkout-1 storefront-1"),
        ("{.items[1:].metadata.name}", "orders-api-1 storefront-1"),
        ("{.items[0:0].metadata.name}", ""),
        ("{.items[0,2].metadata.name}", "checkout-1 storefront-1"),
        ("{.items[1].spec.containers[*].name}", "orders-api sidecar"),
        ("{.items[*].spec.containers[*].name}", "checkout orders-api sidecar nginx"),
        ("{.items[0].metadata['name','namespace']}", "checkout-1 shop"),
        // filters
        (r#"{.items[?(@.status.phase=="Pending")].metadata.name}"#, "storefront-1"),
        (r#"{.items[?(@.status.phase != "Pending")].metadata.name}"#, "checkout-1 orders-api-1"),
        ("{.items[?(@.status.containerStatuses[0].restartCount>1)].metadata.name}", "orders-api-1"),
        (
            "{.items[?(@.status.containerStatuses[0].restartCount>=0)].metadata.name}",
            "checkout-1 orders-api-1",
        ),
        ("{.items[?(@.status.containerStatuses[0].restartCount<1)].metadata.name}", "checkout-1"),
        (
            "{.items[?(@.status.containerStatuses[0].restartCount<=47)].metadata.name}",
            "checkout-1 orders-api-1",
        ),
        (
            r#"{.items[?(@.status.containerStatuses[0].state.waiting.reason=="CrashLoopBackOff")].metadata.name}"#,
            "orders-api-1",
        ),
        ("{.items[?(@.status.containerStatuses)].metadata.name}", "checkout-1 orders-api-1"),
        ("{.items[?(@.status.containerStatuses[0].ready==false)].metadata.name}", "checkout-1 orders-api-1"),
        (r#"{.items[1].spec.containers[?(@.name=='sidecar')].image}"#, "envoy"),
        (r#"{.items[?(@.metadata.name<"d")].metadata.name}"#, "checkout-1"),
        // recursive descent
        ("{.items[0]..name}", "checkout-1 checkout-rs checkout http checkout"),
        ("{..phase}", "Running Running Pending"),
        ("{.items[2]..image}", "nginx:1.25.3"),
        // ranges
        (
            "{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}",
            "checkout-1\tRunning\norders-api-1\tRunning\nstorefront-1\tPending\n",
        ),
        (
            "{range .items[*]}[{.metadata.name}]{end} tail {.kind}",
            "[checkout-1][orders-api-1][storefront-1] tail List",
        ),
        (
            "{range .items[*]}{.metadata.name}{range .spec.containers[*]}<{.name}>{end}|{end}",
            "checkout-1<checkout>|orders-api-1<orders-api><sidecar>|storefront-1<nginx>|",
        ),
        ("{range .items[*]}{.metadata.name}", "checkout-1orders-api-1storefront-1"),
        ("{range .items[*]}{.metadata.name}{.kind}", "checkout-1Podorders-api-1Podstorefront-1PodList"),
        ("{range .nope[*]}x{end}after", "after"),
        (
            "{range .items[?(@.status.phase==\"Running\")]}{.metadata.name}{\"\\n\"}{end}",
            "checkout-1\norders-api-1\n",
        ),
        // string literals
        (r#"{"a\tb"}{'c'}{"\u00e9"}"#, "a\tbcé"),
        // a string's elements are its bytes
        ("{.kind.*}", "76 105 115 116"),
    ];
    for (template, want) in cases {
        assert_eq!(run(template, &data).as_deref(), Ok(*want), "{template}");
    }
}

#[test]
fn errors_read_like_kubectl() {
    let data = pods();
    let parse_errors: &[(&str, &str)] = &[
        ("{.x", "unclosed action"),
        ("{#}", "unrecognized character in action: U+0023 '#'"),
        (r#"{.items[?(@.x=~"a")]}"#, "unrecognized character in action: U+007E '~'"),
        (r#"{.items[0]["metadata"]}"#, r#"invalid array index "metadata""#),
        ("{.items[x]}", "invalid array index x"),
        ("{.items[0}", "unterminated array"),
        ("{.items[?(@.a}", "unterminated filter"),
        ("{.items[?(@.a)x}", "unclosed array expect ]"),
        ("{\"abc}", "unterminated quoted string"),
        ("{\"\\q\"}", "unquote string \"\\q\" error invalid syntax"),
        ("{....a}", "invalid multiple recursive descent"),
        ("{-}", "cannot parse number -"),
        ("{.items[1:2:3:4]}", "invalid array index 1:2:3:4"),
        ("{.items[-]}", "array index - is not a number"),
    ];
    for (template, want) in parse_errors {
        assert_eq!(
            JsonPath::parse(template).err(),
            Some(TemplateError::Parse((*want).to_string())),
            "{template}"
        );
    }
    let exec_errors: &[(&str, &str)] = &[
        ("{end}", "not in range, nothing to end"),
        ("{foo}", "unrecognized identifier foo"),
        ("{.metadata[*]}", "map[string]interface {} is not array or slice"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{.items[9].metadata.name}", "array index out of bounds: index 9, length 3"),
        ("{.items[0:9].metadata.name}", "array index out of bounds: index 8, length 3"),
        ("{.items[2:1].metadata.name}", "starting index 2 is greater than ending index 1"),
        ("{.items[::0].metadata.name}", "step must be > 0"),
        ("{.metadata[?(@.a)]}", "map[resourceVersion:] is not array or slice and cannot be filtered"),
        (
            "{.items[?(@.status.containerStatuses[0].restartCount>1.5)].metadata.name}",
            "incompatible types for comparison",
        ),
        (
            r#"{.items[?(@.status.containerStatuses[0].restartCount=="a")].metadata.name}"#,
            "incompatible types for comparison",
        ),
        (
            "{.items[?(@.spec.containers[*].name==\"x\")].metadata.name}",
            "can only compare one element at a time",
        ),
        ("{.items[?(@.status==\"x\")].metadata.name}", "invalid type for comparison"),
        (
            "{.items[?(@.status.containerStatuses[0].ready<true)].metadata.name}",
            "invalid type for comparison",
        ),
        ("{.items[?(@.kind=!\"Pod\")].metadata.name}", "unrecognized filter operator =!"),
    ];
    for (template, want) in exec_errors {
        assert_eq!(
            run(template, &data).err(),
            Some(TemplateError::Execute((*want).to_string())),
            "{template}"
        );
    }
    let strict = JsonPath::parse("{.items[0].nope}")
        .map(|t| t.allow_missing_keys(false))
        .and_then(|t| t.execute(&data));
    assert_eq!(strict.err(), Some(TemplateError::Execute("nope is not found".to_string())));
}

#[test]
fn output_errors_carry_kubectl_prefixes() {
    let e = JsonPath::for_output("{.x").err().map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("error: error parsing jsonpath {.x, unclosed action"));
    let e = JsonPath::for_output("{end}")
        .and_then(|t| t.print(&pods()))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("error: error executing jsonpath \"{end}\": Error executing template: not in range, nothing to end. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{end}\n"),
        "{e}"
    );
    // Quotes around the whole template are what a shell would have removed.
    let t = JsonPath::for_output("'{.kind}'").and_then(|t| t.print(&pods())).ok();
    assert_eq!(t.as_deref(), Some("List"));
}

#[test]
fn custom_columns_like_kubectl() {
    let cols = CustomColumns::parse("NAME:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount")
        .map_err(|e| e.to_string());
    let (text, err) = cols.as_ref().map(|c| c.print(&pods(), false)).unwrap_or_default();
    assert!(err.is_none());
    assert_eq!(text, "NAME           RESTARTS\ncheckout-1     0\norders-api-1   47\nstorefront-1   <none>\n");

    let cols = CustomColumns::parse(
        "N:{.metadata.name},L:.metadata.labels,C:.spec.containers[*].name,P:.status.conditions[0].lastProbeTime,X:nope",
    );
    let (text, _) = cols.as_ref().map(|c| c.print(&pods(), true)).unwrap_or_default();
    assert_eq!(
        text,
        "checkout-1     map[app:checkout app.kubernetes.io/part-of:demo pod-template-hash:78956bb89d]   checkout             <nil>    <none>\n\
         orders-api-1   map[app:orders-api]                                                             orders-api,sidecar   <none>   <none>\n\
         storefront-1   map[app:storefront]                                                             nginx                <none>   <none>\n"
    );

    // A single object is one row.
    let single = pods()["items"][1].clone();
    let (text, _) =
        CustomColumns::parse("A:.metadata.name,B:.kind").map(|c| c.print(&single, false)).unwrap_or_default();
    assert_eq!(text, "A              B\norders-api-1   Pod\n");

    // Errors: spec errors up front, template errors after the header (as kubectl prints them).
    let err = |spec: &str| CustomColumns::parse(spec).err().map(|e| e.to_string());
    assert_eq!(
        err("NAME").as_deref(),
        Some("error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>")
    );
    assert_eq!(
        err("NAME:.metadata.name,").as_deref(),
        Some("error: unexpected custom-columns spec: , expected <header>:<json-path-expr>")
    );
    assert_eq!(
        err("NAME:.metadata.{name}").as_deref(),
        Some(
            "error: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'"
        )
    );
    let (text, e) =
        CustomColumns::parse("NAME:.metadata.name[x]").map(|c| c.print(&pods(), false)).unwrap_or_default();
    assert_eq!(
        (text.as_str(), e.map(|e| e.to_string())),
        ("NAME\n", Some("error: invalid array index x".to_string()))
    );
    let (text, _) = CustomColumns::parse("A:").map(|c| c.print(&single, false)).unwrap_or_default();
    assert_eq!(text, "A\n<none>\n");
}

#[test]
fn relaxed_paths() {
    for (path, want) in [
        (".metadata.name", "{.metadata.name}"),
        ("metadata.name", "{.metadata.name}"),
        ("{metadata.name}", "{.metadata.name}"),
        ("{.metadata.name}", "{.metadata.name}"),
        ("", ""),
    ] {
        assert_eq!(relaxed(path).as_deref(), Some(want), "{path}");
    }
    assert_eq!(relaxed("{.a}.b"), None);
}

#[test]
fn runaway_templates_stop() {
    // A 40-deep chain: each `..` multiplies the values by the remaining depth.
    let mut data = json!({"leaf": 1});
    for _ in 0..40 {
        data = json!({"a": data});
    }
    let err = run("{...*...*...*...*...*...*...*...*...*...*}", &data)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("narrow it down"), "{err}");
    let err = run(
        "{range ..}{range ..}{range ..}{range ..}{range ..}{range ..}{@}{end}{end}{end}{end}{end}{end}",
        &data,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("narrow it down"), "{err}");
    assert_eq!(run("{..leaf}", &data).as_deref(), Ok("1"));
}
