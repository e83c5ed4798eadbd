use serde_json::json;

use super::scalar::number;
use super::*;

fn yaml(v: serde_json::Value) -> String {
    to_string(&v)
}

/// What kubectl (go-yaml v2) prints for the demo ConfigMap list, byte for byte.
#[test]
fn matches_kubectl_for_a_configmap_list() {
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "data": {"CACHE_TTL_SECONDS": "300", "FEATURE_FLAGS": "new-checkout=false,recommendations=true",
                 "nginx.conf": "server {\n  listen 80;\n  location /healthz { return 200 'ok'; }\n}\n"},
        "metadata": {"creationTimestamp": "2026-11-21T17:53:18Z", "labels": {"app": "storefront"}, "name": "storefront-config", "resourceVersion": "206"}
    }]});
    assert_eq!(
        yaml(list),
        r#"apiVersion: v1
items:
- apiVersion: v1
  data:
    CACHE_TTL_SECONDS: "300"
    FEATURE_FLAGS: new-checkout=false,recommendations=true
    nginx.conf: |
      server {
        listen 80;
        location /healthz { return 200 'ok'; }
      }
  kind: ConfigMap
  metadata:
    creationTimestamp: "2026-11-21T17:53:18Z"
    labels:
      app: storefront
    name: storefront-config
    resourceVersion: "206"
kind: List
metadata:
  resourceVersion: ""
"#
    );
}

#[test]
fn strings_are_quoted_as_go_yaml_quotes_them() {
    for (s, want) in [
        ("plain", "plain"),
        ("", "\"\""),
        ("300", "\"300\""),
        ("1.5", "\"1.5\""),
        ("1.25.3", "1.25.3"),
        ("0x1F", "\"0x1F\""),
        ("1_000", "\"1_000\""),
        ("on", "\"on\""),
        ("Yes", "\"Yes\""),
        ("null", "\"null\""),
        ("~", "\"~\""),
        (".inf", "\".inf\""),
        ("2024-01-02", "\"2024-01-02\""),
        ("2026-11-21T17:53:18Z", "\"2026-11-21T17:53:18Z\""),
        ("2026-11-21T17:53:18.123+02:00", "\"2026-11-21T17:53:18.123+02:00\""),
        ("12:30", "\"12:30\""),
        ("containers with unready status: [x]", "'containers with unready status: [x]'"),
        ("it's: here", "'it''s: here'"),
        ("- item", "'- item'"),
        ("-Xmx512m", "-Xmx512m"),
        ("*star", "'*star'"),
        ("a #comment", "'a #comment'"),
        ("a#b", "a#b"),
        ("trailing ", "'trailing '"),
        ("tab\there", "\"tab\\there\""),
        ("nginx:1.25.3", "nginx:1.25.3"),
        ("Back-off pulling image \"x\"", "Back-off pulling image \"x\""),
        ("é ünïcode", "é ünïcode"),
        ("emoji 🚀", "\"emoji \\U0001F680\""),
    ] {
        assert_eq!(yaml(json!({"k": s})), format!("k: {want}\n"), "{s:?}");
    }
}

#[test]
fn multi_line_strings_use_literal_blocks() {
    assert_eq!(yaml(json!({"k": "a\nb"})), "k: |-\n  a\n  b\n");
    assert_eq!(yaml(json!({"k": "a\n\nb\n"})), "k: |\n  a\n\n  b\n");
    assert_eq!(yaml(json!({"k": "a\n\n"})), "k: |+\n  a\n\n");
    assert_eq!(yaml(json!({"k": " lead\nx"})), "k: |2-\n   lead\n  x\n");
    assert_eq!(yaml(json!({"k": "trailing space \nx"})), "k: \"trailing space \\nx\"\n");
    assert_eq!(yaml(json!({"l": ["a\nb"]})), "l:\n- |-\n  a\n  b\n");
}

#[test]
fn long_scalars_fold_after_column_80() {
    let event = json!({"items": [{"message": "Container image \"ghcr.io/kubently-demo/checkout:1.8.0\" already present on machine"}]});
    assert_eq!(
        yaml(event),
        "items:\n- message: Container image \"ghcr.io/kubently-demo/checkout:1.8.0\" already present\n    on machine\n"
    );
    let long = "x".repeat(100);
    assert_eq!(yaml(json!({"k": long})), format!("k: {long}\n"), "no space, no fold");
}

#[test]
fn collections_and_scalars() {
    assert_eq!(
        yaml(
            json!({"a": {}, "b": [], "c": null, "d": true, "e": 5, "f": 1.5, "g": [[1, 2], {"x": 1, "y": [3]}], "h": [{}]})
        ),
        "a: {}\nb: []\nc: null\nd: true\ne: 5\nf: 1.5\ng:\n- - 1\n  - 2\n- x: 1\n  \"y\":\n  - 3\nh:\n- {}\n"
    );
    assert_eq!(
        yaml(json!({"app.kubernetes.io/name": "x", "": "y", "300": "z"})),
        "\"\": \"y\"\n\"300\": z\napp.kubernetes.io/name: x\n"
    );
}

#[test]
fn floats_print_like_go() {
    for (f, want) in [
        (1000.0, "1000"),
        (0.5, "0.5"),
        (1234567.0, "1.234567e+06"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (100000.0, "100000"),
    ] {
        assert_eq!(number(&serde_json::Number::from_f64(f).expect("finite")), want, "{f}");
    }
}

/// Whatever the emitter writes reads back as the same value.
#[test]
fn output_round_trips() {
    let value = json!({
        "s": ["plain", "", "300", "on", "a: b", "'q'", "\"dq\"", "x\ny\n", " lead", "trail ", "tab\t", "\u{1b}[0m", "#x", "k: v # c",
              "long text that keeps going and going well past the eighty column limit of go-yaml's emitter so it folds",
              "a long plain scalar that has to fold right here - and then continues with dashes ? and questions",
              "it's a long single-quoted: string that keeps going past the eighty column limit so that it folds too"],
        "n": [1, -2, 3.25, null, true],
        "m": {"nested": {"deeper": [{"a": 1}, [], {}]}}
    });
    let text = yaml(value.clone());
    let back: serde_json::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, value, "\n{text}");
}
