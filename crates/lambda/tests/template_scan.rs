//! The snippets of `vigil lambda template` are valid templates (parsed with the same parsers as
//! `vigil scan template`: saphyr-parser for YAML, hcl-edit for HCL), hold the layer and the
//! wrapper where each dialect reads them, and — what a user notices — a function that gets a
//! snippet passes `vigil scan template` without a sensor finding, while the same template
//! without it is reported.

mod template_support;

use std::collections::BTreeMap;
use template_support::{parse_yaml, sensor_findings, Yaml};
use vigil_lambda::template::{render, Format, Options};
use vigil_policy::Mode;

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:layer:vigil:7";

fn options() -> Vec<(&'static str, Options)> {
    vec![
        ("default", Options::default()),
        (
            "all options",
            Options {
                layer_arn: Some(ARN.into()),
                mode: Some(Mode::Enforce),
                policy_file: Some("policies/prod.yaml".into()),
                collector: Some("https://vigil.example.com/v1/events".into()),
            },
        ),
    ]
}

const SAM_HEAD: &str = "AWSTemplateFormatVersion: \"2010-09-09\"\nTransform: AWS::Serverless-2016-10-31\nDescription: orders export\n\n";
const SAM_RESOURCES: &str = "Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TABLE_NAME: orders
";

#[test]
fn sam_globals_attach_the_layer_and_the_wrapper_to_every_function() {
    for (what, opts) in options() {
        let snippet = render(Format::Sam, &opts);
        let y = parse_yaml(&snippet);
        let layers = y.get(&["Globals", "Function", "Layers"]);
        assert_eq!(
            layers,
            &Yaml::Seq(vec![Yaml::Scalar(
                "VigilLayerArn".into(),
                Some("!Ref".into())
            )]),
            "{what}"
        );
        let vars = ["Globals", "Function", "Environment", "Variables"];
        let wrapper = [&vars[..], &["AWS_LAMBDA_EXEC_WRAPPER"]].concat();
        assert_eq!(y.get(&wrapper).str(), "/opt/vigil/wrap");
        let mode = [&vars[..], &["VIGIL_MODE"]].concat();
        assert_eq!(
            y.get(&mode),
            &Yaml::Scalar("VigilMode".into(), Some("!Ref".into()))
        );
        let allowed = y.get(&["Parameters", "VigilMode", "AllowedValues"]);
        assert_eq!(
            allowed,
            &Yaml::Seq(
                ["learn", "detect", "enforce"]
                    .iter()
                    .map(|m| Yaml::Scalar(m.to_string(), None))
                    .collect()
            )
        );
        assert_eq!(
            y.get(&["Parameters", "VigilLayerArn", "Type"]).str(),
            "String"
        );
        if opts.layer_arn.is_some() {
            assert_eq!(
                y.get(&["Parameters", "VigilLayerArn", "Default"]).str(),
                ARN
            );
            assert_eq!(
                y.get(&["Parameters", "VigilMode", "Default"]).str(),
                "enforce"
            );
            let policy = [&vars[..], &["VIGIL_POLICY"]].concat();
            assert_eq!(y.get(&policy).str(), "/var/task/policies/prod.yaml");
        }

        let with = format!("{SAM_HEAD}{snippet}\n{SAM_RESOURCES}");
        let without = format!("{SAM_HEAD}{SAM_RESOURCES}");
        // The complete template is valid YAML too, and its function keeps its own variable.
        let full = parse_yaml(&with);
        assert_eq!(
            full.get(&["Resources", "OrdersFunction", "Properties", "Handler"])
                .str(),
            "app.handler"
        );
        assert_eq!(
            sensor_findings("sam-with", &[("template.yaml", &with)]),
            Vec::<String>::new(),
            "{what}: {with}"
        );
        assert_eq!(
            sensor_findings("sam-without", &[("template.yaml", &without)]),
            ["sensor-missing (OrdersFunction)"]
        );
    }
}

const CFN_OWN_PROPERTIES: &str = "      Runtime: python3.12
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/orders-export
      Code:
        ZipFile: |
          def handler(event, context):
              return {\"ok\": True}
";

#[test]
fn cloudformation_fragment_protects_the_function_it_is_merged_into() {
    for (what, opts) in options() {
        let snippet = render(Format::CloudFormation, &opts);
        let y = parse_yaml(&snippet);
        let props = ["Resources", "Function", "Properties"];
        assert_eq!(
            y.get(&["Resources", "Function", "Type"]).str(),
            "AWS::Lambda::Function"
        );
        assert_eq!(
            y.get(&[&props[..], &["Layers"]].concat()),
            &Yaml::Seq(vec![Yaml::Scalar(
                "VigilLayerArn".into(),
                Some("!Ref".into())
            )])
        );
        assert_eq!(
            y.get(
                &[
                    &props[..],
                    &["Environment", "Variables", "AWS_LAMBDA_EXEC_WRAPPER"]
                ]
                .concat()
            )
            .str(),
            "/opt/vigil/wrap"
        );

        // The user's function gets the fragment: its own properties next to Vigil's.
        let marker = "    Properties:\n";
        assert_eq!(snippet.matches(marker).count(), 1, "{snippet}");
        let with = format!(
            "AWSTemplateFormatVersion: \"2010-09-09\"\n{}",
            snippet.replacen(marker, &format!("{marker}{CFN_OWN_PROPERTIES}"), 1)
        );
        let without = format!(
            "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Function:\n    Type: AWS::Lambda::Function\n{marker}{CFN_OWN_PROPERTIES}"
        );
        let full = parse_yaml(&with);
        assert_eq!(
            full.get(&[&props[..], &["Runtime"]].concat()).str(),
            "python3.12"
        );
        assert_eq!(
            sensor_findings("cfn-with", &[("template.yaml", &with)]),
            Vec::<String>::new(),
            "{what}: {with}"
        );
        assert_eq!(
            sensor_findings("cfn-without", &[("template.yaml", &without)]),
            ["sensor-missing (Function)"]
        );
    }
}

const TF_OWN_ARGUMENTS: &str = "  function_name = \"orders-export\"
  role          = aws_iam_role.function.arn
  handler       = \"app.handler\"
  runtime       = \"python3.12\"
";
const TF_ROLE: &str = "resource \"aws_iam_role\" \"function\" {
  name = \"orders-export\"
  assume_role_policy = jsonencode({
    Version = \"2012-10-17\"
    Statement = [{ Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = { Service = \"lambda.amazonaws.com\" } }]
  })
}
";

fn hcl_attribute<'a>(
    body: &'a hcl_edit::structure::Body,
    name: &str,
) -> &'a hcl_edit::expr::Expression {
    body.get_attribute(name)
        .map(|a| &a.value)
        .unwrap_or_else(|| panic!("no attribute `{name}`"))
}

#[test]
fn terraform_snippet_is_valid_hcl_and_protects_the_function() {
    use hcl_edit::expr::Expression;
    for (what, opts) in options() {
        let snippet = render(Format::Terraform, &opts);
        let body = hcl_edit::parser::parse_body(&snippet)
            .unwrap_or_else(|e| panic!("{what}: invalid HCL: {e}\n{snippet}"));

        let blocks: Vec<(String, Vec<String>)> = body
            .blocks()
            .map(|b| {
                (
                    b.ident.to_string(),
                    b.labels.iter().map(|l| l.to_string()).collect(),
                )
            })
            .collect();
        let label = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            blocks,
            [
                ("variable".to_string(), label(&["vigil_layer_arn"])),
                ("variable".to_string(), label(&["vigil_mode"])),
                ("data".to_string(), label(&["archive_file", "function"])),
                (
                    "resource".to_string(),
                    label(&["aws_lambda_function", "function"])
                ),
            ],
            "{what}"
        );
        let function = body
            .blocks()
            .find(|b| b.ident.as_str() == "resource")
            .expect("the function");
        let layers = hcl_attribute(&function.body, "layers");
        assert_eq!(layers.to_string().trim(), "[var.vigil_layer_arn]");
        let env = function
            .body
            .blocks()
            .find(|b| b.ident.as_str() == "environment")
            .expect("environment block");
        let Expression::Object(vars) = hcl_attribute(&env.body, "variables") else {
            panic!("variables is not an object");
        };
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| {
                (
                    k.as_ident()
                        .map_or_else(
                            || k.as_expr().map(|e| e.to_string()).unwrap_or_default(),
                            |i| i.to_string(),
                        )
                        .trim()
                        .to_string(),
                    v.expr().to_string().trim().to_string(),
                )
            })
            .collect();
        assert_eq!(vars["AWS_LAMBDA_EXEC_WRAPPER"], "\"/opt/vigil/wrap\"");
        assert_eq!(vars["VIGIL_MODE"], "var.vigil_mode");
        if opts.layer_arn.is_some() {
            assert_eq!(vars["VIGIL_POLICY"], "\"/var/task/policies/prod.yaml\"");
            assert_eq!(
                vars["VIGIL_COLLECTOR"],
                "\"https://vigil.example.com/v1/events\""
            );
            assert!(snippet.contains(&format!("default     = \"{ARN}\"")));
            assert!(snippet.contains("default     = \"enforce\""));
        }

        // The user's function gets the snippet's arguments next to its own.
        let head = "resource \"aws_lambda_function\" \"function\" {\n";
        assert_eq!(snippet.matches(head).count(), 1);
        let with = format!(
            "{TF_ROLE}\n{}",
            snippet.replacen(head, &format!("{head}{TF_OWN_ARGUMENTS}"), 1)
        );
        let without =
            format!("{TF_ROLE}\n{head}{TF_OWN_ARGUMENTS}  filename = \"build/function.zip\"\n}}\n");
        hcl_edit::parser::parse_body(&with).expect("the merged module is valid HCL");
        assert_eq!(
            sensor_findings("tf-with", &[("main.tf", &with)]),
            Vec::<String>::new(),
            "{what}: {with}"
        );
        assert_eq!(
            sensor_findings("tf-without", &[("main.tf", &without)]),
            ["sensor-missing (aws_lambda_function.function)"]
        );
    }
}

/// The scanner's own resolution: with the layer ARN as the variable's default it resolves the
/// ARN (which names vigil); without a default, the reference's name counts. Both pass.
#[test]
fn layer_given_or_asked_for_at_deploy_time_both_count() {
    let head = "resource \"aws_lambda_function\" \"function\" {\n";
    for arn in [None, Some(ARN)] {
        let opts = Options {
            layer_arn: arn.map(String::from),
            ..Options::default()
        };
        let tf = render(Format::Terraform, &opts).replacen(
            head,
            &format!("{head}{TF_OWN_ARGUMENTS}"),
            1,
        );
        assert_eq!(
            sensor_findings("tf-arn", &[("main.tf", &tf), ("role.tf", TF_ROLE)]),
            Vec::<String>::new()
        );
    }
}

#[test]
fn options_are_rejected_before_rendering_with_what_and_where() {
    let e = Options {
        layer_arn: Some("arn:aws:lambda:eu-west-1:123456789012:layer:vigil".into()),
        ..Options::default()
    }
    .validate()
    .expect_err("no version");
    assert!(e.to_string().contains("the version is missing"), "{e}");
    let e = "yaml".parse::<Format>().expect_err("unknown format");
    assert!(e
        .to_string()
        .contains("expected sam, cloudformation or terraform"));
}
