//! A document tree with positions, built from YAML (SAM/CloudFormation) or JSON
//! (CloudFormation, Terraform plan) text.
//!
//! The YAML side uses `saphyr-parser`'s event stream: it keeps every tag (so CloudFormation's
//! short forms `!Ref`, `!Sub`, `!GetAtt`… survive) and a span on every event. The tree builder
//! on top of it is ours because we turn short-form tags into their long form (`Fn::Sub`) while
//! building and reject duplicate keys, which no loader offers. JSON goes through `jsonc-parser`,
//! whose AST carries byte ranges.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

/// A 1-based line and column in the file being scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Which file of the module (Terraform modules span files); 0 for single-file templates.
    pub file: u32,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
}

/// One value of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub kind: Kind,
}

/// A mapping key with its own position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is.
    pub pos: Pos,
}

/// The shape of a value. Numbers are kept as their text: no check needs arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or nothing.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// Any other scalar (strings and numbers).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
    /// A value only known at deploy time (a parameter without default, a resource attribute,
    /// a Terraform variable without default); the text says what it refers to, e.g.
    /// `Ref VigilLayerArn` or `var.layer_arn`.
    Unknown(String),
}

impl Pos {
    /// A position in the first (or only) file.
    pub fn new(line: usize, column: usize) -> Self {
        Pos {
            file: 0,
            line,
            column,
        }
    }
}

impl Node {
    /// A new node.
    pub fn new(pos: Pos, kind: Kind) -> Self {
        Node { pos, kind }
    }

    /// A string node.
    pub fn str(pos: Pos, s: impl Into<String>) -> Self {
        Node::new(pos, Kind::Str(s.into()))
    }

    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key` when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The entries when this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items when this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The text when this is a scalar string (or number).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A single-key mapping whose key is an intrinsic function name (`Ref`, `Fn::…`,
    /// `Condition`): returns the name and the argument.
    pub fn intrinsic(&self) -> Option<(&str, &Node)> {
        match &self.kind {
            Kind::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                (k.name == "Ref" || k.name.starts_with("Fn::") || k.name == "Condition")
                    .then_some((k.name.as_str(), v))
            }
            _ => None,
        }
    }

    /// Converts a `serde_json` value (embedded data) into a node placed at `pos`.
    pub fn from_json_value(value: &serde_json::Value, pos: Pos) -> Node {
        use serde_json::Value;
        let kind = match value {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => Kind::Str(n.to_string()),
            Value::String(s) => Kind::Str(s.clone()),
            Value::Array(items) => Kind::Seq(
                items
                    .iter()
                    .map(|v| Node::from_json_value(v, pos))
                    .collect(),
            ),
            Value::Object(map) => Kind::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                pos,
                            },
                            Node::from_json_value(v, pos),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(pos, kind)
    }
}

/// A parse failure with the place it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

fn pos_of(span: &Span) -> Pos {
    Pos::new(span.start.line(), span.start.col() + 1)
}

/// The tag as written: `!Ref`, `!!str`, `tag:yaml.org,2002:str`.
fn tag_text(tag: Option<&Tag>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle, t.suffix))
}

/// CloudFormation short-form tags and the long form each one stands for.
fn long_form(tag: &str) -> Option<&'static str> {
    Some(match tag.strip_prefix('!')? {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "Sub" => "Fn::Sub",
        "GetAtt" => "Fn::GetAtt",
        "Join" => "Fn::Join",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "If" => "Fn::If",
        "Equals" => "Fn::Equals",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "Not" => "Fn::Not",
        "FindInMap" => "Fn::FindInMap",
        "Base64" => "Fn::Base64",
        "Cidr" => "Fn::Cidr",
        "GetAZs" => "Fn::GetAZs",
        "ImportValue" => "Fn::ImportValue",
        "Transform" => "Fn::Transform",
        "Length" => "Fn::Length",
        "ToJsonString" => "Fn::ToJsonString",
        _ => return None,
    })
}

fn wrap_tag(tag: Option<&str>, node: Node) -> Node {
    match tag.and_then(long_form) {
        Some(name) => {
            let pos = node.pos;
            Node::new(
                pos,
                Kind::Map(vec![(
                    Key {
                        name: name.to_string(),
                        pos,
                    },
                    node,
                )]),
            )
        }
        None => node,
    }
}

fn scalar_kind(text: String, style: ScalarStyle, tag: Option<&str>) -> Kind {
    if style != ScalarStyle::Plain || matches!(tag, Some("!!str" | "tag:yaml.org,2002:str")) {
        return Kind::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" => Kind::Bool(true),
        "false" | "False" | "FALSE" => Kind::Bool(false),
        _ => Kind::Str(text),
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        tag: Option<String>,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
    },
}

/// How many values all aliases of one document may copy in total.
const MAX_ALIAS_VALUES: usize = 1_000_000;

/// The number of values in `node`, counting no further than `cap`.
fn count_capped(node: &Node, cap: usize) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        if count >= cap {
            return count;
        }
        match &n.kind {
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}

/// Parses YAML text (the first document) into a tree. Duplicate keys are an error, as
/// CloudFormation rejects them too.
///
pub fn parse_yaml(text: &str) -> Result<Node, ParseError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = MAX_ALIAS_VALUES;
    let mut root: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| ParseError {
            pos: Pos::new(e.marker().line(), e.marker().col() + 1),
            message: e.info().to_string(),
        })?;
        let pos = pos_of(&span);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => None,
            Event::DocumentEnd | Event::StreamEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    // Aliases copy their anchor: cap the copies so that an alias bomb
                    // ("billion laughs") is an error, not a hang.
                    let size = count_capped(node, alias_budget.saturating_add(1));
                    if size > alias_budget {
                        return Err(ParseError {
                            pos,
                            message: format!(
                                "aliases expand to more than {MAX_ALIAS_VALUES} values"
                            ),
                        });
                    }
                    alias_budget -= size;
                    Some((node.clone(), 0))
                }
                None => {
                    return Err(ParseError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    })
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag_text(tag.as_deref());
                let kind = scalar_kind(value.into_owned(), style, tag.as_deref());
                Some((wrap_tag(tag.as_deref(), Node::new(pos, kind)), anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                stack.push(Frame::Seq {
                    pos,
                    anchor,
                    tag: tag_text(tag.as_deref()),
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                stack.push(Frame::Map {
                    pos,
                    anchor,
                    tag: tag_text(tag.as_deref()),
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    pos,
                    anchor,
                    tag,
                    items,
                }) => Some((
                    wrap_tag(tag.as_deref(), Node::new(pos, Kind::Seq(items))),
                    anchor,
                )),
                _ => {
                    return Err(ParseError {
                        pos,
                        message: "unbalanced sequence end".into(),
                    })
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    tag,
                    entries,
                    ..
                }) => Some((
                    wrap_tag(tag.as_deref(), Node::new(pos, Kind::Map(entries))),
                    anchor,
                )),
                _ => {
                    return Err(ParseError {
                        pos,
                        message: "unbalanced mapping end".into(),
                    })
                }
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let name = match &node.kind {
                        Kind::Str(s) => s.clone(),
                        Kind::Null => String::new(),
                        Kind::Bool(b) => b.to_string(),
                        _ => {
                            return Err(ParseError {
                                pos: node.pos,
                                message: "a mapping key must be a plain value, not a collection"
                                    .into(),
                            })
                        }
                    };
                    if entries.iter().any(|(k, _)| k.name == name) {
                        return Err(ParseError {
                            pos: node.pos,
                            message: format!("duplicate key `{name}`"),
                        });
                    }
                    *key = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(root.unwrap_or(Node::new(Pos::new(1, 1), Kind::Null)))
}

/// Maps byte offsets to [`Pos`]itions, through the crate's [`crate::LineIndex`].
pub struct LineIndex<'a>(crate::LineIndex<'a>);

impl<'a> LineIndex<'a> {
    /// Indexes `text`.
    pub fn new(text: &'a str) -> Self {
        LineIndex(crate::LineIndex::new("", text))
    }

    /// The position of byte `offset` (columns count characters).
    pub fn pos(&self, offset: usize) -> Pos {
        let p = self.0.position(offset);
        Pos::new(p.line, p.column)
    }
}

/// Parses JSON text into a tree.
pub fn parse_json(text: &str) -> Result<Node, ParseError> {
    use jsonc_parser::ast::Value;
    let index = LineIndex::new(text);
    let options = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        ..Default::default()
    };
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        ParseError {
            pos: index.pos(e.range().start),
            message: e.kind().to_string(),
        }
    })?;
    fn convert(value: &Value<'_>, index: &LineIndex<'_>) -> Node {
        use jsonc_parser::common::Ranged;
        let pos = index.pos(value.start());
        let kind = match value {
            Value::NullKeyword(_) => Kind::Null,
            Value::BooleanLit(b) => Kind::Bool(b.value),
            Value::NumberLit(n) => Kind::Str(n.value.to_string()),
            Value::StringLit(s) => Kind::Str(s.value.to_string()),
            Value::Array(a) => Kind::Seq(a.elements.iter().map(|v| convert(v, index)).collect()),
            Value::Object(o) => Kind::Map(
                o.properties
                    .iter()
                    .map(|p| {
                        let key = Key {
                            name: p.name.as_str().to_string(),
                            pos: index.pos(p.name.start()),
                        };
                        (key, convert(&p.value, index))
                    })
                    .collect(),
            ),
        };
        Node::new(pos, kind)
    }
    match parsed.value {
        Some(v) => Ok(convert(&v, &index)),
        None => Err(ParseError {
            pos: Pos::new(1, 1),
            message: "the file holds no JSON value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_tags_become_long_form_with_positions() {
        let node = parse_yaml("A:\n  B: !Ref Foo\n  C: !GetAtt [R, Arn]\n").expect("parses");
        let b = node.get("A").and_then(|a| a.get("B")).expect("B");
        let (name, arg) = b.intrinsic().expect("intrinsic");
        assert_eq!(name, "Ref");
        assert_eq!(arg.as_str(), Some("Foo"));
        assert_eq!(b.pos, Pos::new(2, 6));
        let c = node.get("A").and_then(|a| a.get("C")).expect("C");
        assert_eq!(c.intrinsic().map(|(n, _)| n), Some("Fn::GetAtt"));
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let err = parse_yaml("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(err.pos, Pos::new(3, 1));
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn anchors_and_aliases_are_expanded() {
        let node = parse_yaml("a: &x {k: v}\nb: *x\n").expect("parses");
        assert_eq!(
            node.get("b")
                .and_then(|b| b.get("k"))
                .and_then(Node::as_str),
            Some("v")
        );
    }

    #[test]
    fn alias_bombs_are_errors() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x]\n");
        for i in 1..30 {
            let p = i - 1;
            yaml.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse_yaml(&yaml).expect_err("bomb");
        assert!(
            err.message.contains("aliases expand to more than"),
            "{}",
            err.message
        );
    }

    #[test]
    fn json_positions_are_line_and_column() {
        let node = parse_json("{\n\t\"a\": {\"b\": \"c\"}\n}").expect("parses");
        let a = node.get("a").expect("a");
        assert_eq!(a.pos, Pos::new(2, 7));
        let err = parse_json("{\n  \"a\": [1,\n}").expect_err("bad");
        assert_eq!(err.pos.line, 3);
    }
}
