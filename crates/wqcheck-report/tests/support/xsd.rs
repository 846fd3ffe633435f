//! A validator for the part of XML Schema 1.0 that the Surefire JUnit schema
//! (`tests/fixtures/junit-10.xsd`) is written in, so that `cargo test` checks the JUnit
//! report against that schema offline. `ci/validate-junit.sh` does the same with an
//! independent validator (xmlschema), but needs PyPI.
//!
//! Every rule comes from the `.xsd`: global and local `xs:element`s (`type=` `xs:string`
//! or a named type, or an inline `xs:complexType`; `ref=`), named `xs:complexType`s and
//! `xs:simpleType`s (`xs:restriction base="xs:string"` with `xs:pattern`s), `xs:sequence`
//! and `xs:choice` with `minOccurs`/`maxOccurs`, `xs:attribute` (`type`, `use`) and
//! `mixed`. A schema construct outside that subset panics with what it is: a validator
//! that skipped what it does not know would accept what the schema rejects.
//!
//! Namespaces are not resolved: the schema must bind `xs` to XML Schema and have no
//! target namespace, and an `xmlns` attribute in a document is reported as undeclared
//! (a document in a namespace would not match this schema's elements anyway).

use std::collections::{BTreeSet, HashMap};

use quick_xml::events::Event;
use quick_xml::Reader;
use regex::Regex;

/// An element of a parsed document: what validation looks at.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// The character data directly inside (text and CDATA, references resolved).
    pub text: String,
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// This element and every one under it, depth first.
    pub fn descendants(&self) -> Vec<&Node> {
        let mut all = vec![self];
        for c in &self.children {
            all.extend(c.descendants());
        }
        all
    }
}

/// XML's whitespace, narrower than Rust's (`char::is_whitespace` takes U+00A0 and more).
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// The root element of `xml`, or why it is not well-formed.
pub fn parse(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let at = reader.buffer_position();
        let err = |e: &dyn std::fmt::Display| format!("malformed XML at byte {at}: {e}");
        let event = reader.read_event().map_err(|e| err(&e))?;
        let text = match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                // `attributes()` rejects a duplicate attribute.
                for a in e.attributes() {
                    let a = a.map_err(|e| err(&e))?;
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    attrs.push((key, a.unescape_value().map_err(|e| err(&e))?.into_owned()));
                }
                let node = Node {
                    name,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                };
                if matches!(event, Event::Start(_)) {
                    open.push(node);
                } else {
                    close(node, &mut open, &mut root)?;
                }
                continue;
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches.
                let node = open.pop().ok_or("an end tag without its start tag")?;
                close(node, &mut open, &mut root)?;
                continue;
            }
            Event::Text(t) => t.xml_content().map_err(|e| err(&e))?.into_owned(),
            Event::CData(t) => t.xml_content().map_err(|e| err(&e))?.into_owned(),
            Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| err(&e))? {
                Some(c) => c.to_string(),
                None => {
                    let name = r.decode().map_err(|e| err(&e))?;
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("undefined entity &{name};"))?
                        .to_string()
                }
            },
            // A DTD could define entities and defaults that change the content.
            Event::DocType(_) => return Err("a DOCTYPE is not supported".into()),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => continue,
            Event::Eof => break,
        };
        match open.last_mut() {
            Some(parent) => parent.text.push_str(&text),
            None if is_blank(&text) => {}
            None => return Err(format!("text outside the root element: {text:?}")),
        }
    }
    if let Some(node) = open.last() {
        return Err(format!("<{}> is not closed", node.name));
    }
    root.ok_or_else(|| "no root element".into())
}

/// Hands a finished element to its parent, or makes it the root.
fn close(node: Node, open: &mut [Node], root: &mut Option<Node>) -> Result<(), String> {
    match open.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_some() => return Err(format!("a second root element <{}>", node.name)),
        None => *root = Some(node),
    }
    Ok(())
}

/// The type of an element or attribute, an index into its table in [`Schema`] where it
/// has one.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Type {
    /// `xs:string`: any text; as an element's type, no attributes or child elements.
    String,
    /// An `xs:simpleType`: a string restricted by patterns.
    Simple(usize),
    Complex(usize),
}

/// A named `xs:simpleType`: `xs:string` whose value matches one of its patterns.
struct Simple {
    name: String,
    patterns: Vec<String>,
    /// All the patterns, anchored.
    regex: Regex,
}

struct Complex {
    /// Text may come between child elements; else only whitespace may.
    mixed: bool,
    attributes: Vec<Attribute>,
    /// `None`: no child elements.
    content: Option<Particle>,
}

struct Attribute {
    name: String,
    ty: Type,
    required: bool,
}

/// A term with how often it may occur (`max` `None`: unbounded).
struct Particle {
    min: u32,
    max: Option<u32>,
    term: Term,
}

enum Term {
    /// A local element declaration.
    Element(String, Type),
    /// `ref=`: a global element declaration, looked up when validating (it may come later
    /// in the file, or be the element being declared).
    Ref(String),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
}

const XS_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema";

/// A compiled schema.
pub struct Schema {
    /// The global element declarations: what a document's root may be, what `ref=` names.
    elements: HashMap<String, Type>,
    simple: Vec<Simple>,
    complex: Vec<Complex>,
    /// Named types, by name.
    types: HashMap<String, Type>,
}

/// Stops at a schema construct outside the subset this validator knows.
fn unsupported(node: &Node, what: &str) -> ! {
    panic!(
        "junit schema validator: unsupported {what} in <{}> (attributes {:?})",
        node.name, node.attrs
    )
}

/// `node`'s attributes must all be in `known`, and it must hold no text.
fn expect_only(node: &Node, known: &[&str]) {
    if let Some((k, _)) = node
        .attrs
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))
    {
        unsupported(node, &format!("attribute `{k}`"));
    }
    if !is_blank(&node.text) {
        unsupported(node, &format!("text {:?}", node.text));
    }
}

/// A required attribute of a schema element.
fn need<'a>(node: &'a Node, name: &str) -> &'a str {
    node.attr(name)
        .unwrap_or_else(|| unsupported(node, &format!("absence of `{name}`")))
}

impl Schema {
    /// Compiles an `.xsd`; panics on a construct this validator does not know.
    pub fn from_xsd(xsd: &str) -> Schema {
        let root = parse(xsd).unwrap_or_else(|e| panic!("the schema is not XML: {e}"));
        if root.name != "xs:schema" || root.attr("xmlns:xs") != Some(XS_NAMESPACE) {
            unsupported(
                &root,
                "root (want xs:schema with xmlns:xs bound to XML Schema)",
            );
        }
        expect_only(&root, &["xmlns:xs"]);
        let mut schema = Schema {
            elements: HashMap::new(),
            simple: Vec::new(),
            complex: Vec::new(),
            types: HashMap::new(),
        };
        // Named types first, so that declarations can name those defined after them;
        // each complex type's slot is taken before any is compiled, for the same reason
        // (compiling one may add the inline types in it).
        let mut named_complex = Vec::new();
        for node in &root.children {
            let ty = match node.name.as_str() {
                "xs:simpleType" => {
                    schema.simple.push(Schema::simple_type(node));
                    Type::Simple(schema.simple.len() - 1)
                }
                "xs:complexType" => {
                    let empty = Complex {
                        mixed: false,
                        attributes: Vec::new(),
                        content: None,
                    };
                    schema.complex.push(empty);
                    named_complex.push((schema.complex.len() - 1, node));
                    Type::Complex(schema.complex.len() - 1)
                }
                "xs:element" => continue,
                _ => unsupported(node, "top-level declaration"),
            };
            if schema.types.insert(need(node, "name").into(), ty).is_some() {
                unsupported(node, "second definition of a type name");
            }
        }
        for (i, node) in named_complex {
            expect_only(node, &["name", "mixed"]);
            schema.complex[i] = schema.complex_type(node);
        }
        for node in root.children.iter().filter(|n| n.name == "xs:element") {
            expect_only(node, &["name", "type"]);
            let ty = schema.element_type(node);
            if schema
                .elements
                .insert(need(node, "name").into(), ty)
                .is_some()
            {
                unsupported(node, "second declaration of an element name");
            }
        }
        // A `ref=` to nothing would only show on a document that has that element.
        for c in &schema.complex {
            if let Some(p) = &c.content {
                schema.declared(p, &mut HashMap::new());
            }
        }
        schema
    }

    fn simple_type(node: &Node) -> Simple {
        expect_only(node, &["name"]);
        let [restriction] = node.children.as_slice() else {
            unsupported(node, "content (want one xs:restriction)")
        };
        if restriction.name != "xs:restriction" || restriction.attr("base") != Some("xs:string") {
            unsupported(
                restriction,
                "derivation (want xs:restriction base=\"xs:string\")",
            );
        }
        expect_only(restriction, &["base"]);
        let mut patterns = Vec::new();
        for facet in &restriction.children {
            if facet.name != "xs:pattern" {
                unsupported(facet, "facet");
            }
            expect_only(facet, &["value"]);
            patterns.push(need(facet, "value").to_string());
        }
        // Patterns of one restriction are alternatives; an XSD pattern matches the whole
        // value.
        let alternatives: Vec<String> = patterns.iter().map(|p| translate(p, node)).collect();
        let regex = Regex::new(&format!("^(?:{})$", alternatives.join("|")))
            .unwrap_or_else(|e| panic!("pattern of {}: {e}", need(node, "name")));
        Simple {
            name: need(node, "name").to_string(),
            patterns,
            regex,
        }
    }

    fn complex_type(&mut self, node: &Node) -> Complex {
        let mixed = match node.attr("mixed") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => unsupported(node, "value of `mixed`"),
        };
        let mut complex = Complex {
            mixed,
            attributes: Vec::new(),
            content: None,
        };
        for child in &node.children {
            match child.name.as_str() {
                "xs:sequence" | "xs:choice"
                    if complex.content.is_none() && complex.attributes.is_empty() =>
                {
                    complex.content = Some(self.particle(child));
                }
                "xs:attribute" => {
                    expect_only(child, &["name", "type", "use"]);
                    if !child.children.is_empty() {
                        unsupported(child, "inline attribute type");
                    }
                    let required = match child.attr("use") {
                        None | Some("optional") => false,
                        Some("required") => true,
                        Some(_) => unsupported(child, "value of `use`"),
                    };
                    let ty = self.named_type(child, need(child, "type"));
                    if matches!(ty, Type::Complex(_)) {
                        unsupported(child, "complex attribute type");
                    }
                    let name = need(child, "name").to_string();
                    complex.attributes.push(Attribute { name, ty, required });
                }
                _ => unsupported(child, "content of xs:complexType"),
            }
        }
        complex
    }

    /// An `xs:element`'s type: `type=`, or one inline `xs:complexType`.
    fn element_type(&mut self, node: &Node) -> Type {
        match (node.attr("type"), node.children.as_slice()) {
            (Some(name), []) => self.named_type(node, name),
            (None, [inline]) if inline.name == "xs:complexType" => {
                expect_only(inline, &["mixed"]);
                let complex = self.complex_type(inline);
                self.complex.push(complex);
                Type::Complex(self.complex.len() - 1)
            }
            // No type at all would be xs:anyType, which accepts anything.
            _ => unsupported(
                node,
                "element type (want type= or one inline xs:complexType)",
            ),
        }
    }

    fn named_type(&self, node: &Node, name: &str) -> Type {
        match name {
            "xs:string" => Type::String,
            _ if name.contains(':') => unsupported(node, &format!("type {name}")),
            _ => *self.types.get(name).unwrap_or_else(|| {
                unsupported(node, &format!("reference to undefined type {name}"))
            }),
        }
    }

    fn particle(&mut self, node: &Node) -> Particle {
        let count = |name: &str, default: u32| match node.attr(name) {
            None => Some(default),
            Some("unbounded") if name == "maxOccurs" => None,
            Some(n) => Some(n.parse().unwrap_or_else(|_| unsupported(node, name))),
        };
        let min = count("minOccurs", 1).expect("minOccurs is bounded");
        let max = count("maxOccurs", 1);
        let term = match node.name.as_str() {
            "xs:element" => match node.attr("ref") {
                Some(name) => {
                    expect_only(node, &["ref", "minOccurs", "maxOccurs"]);
                    if !node.children.is_empty() || name.contains(':') {
                        unsupported(node, "element reference");
                    }
                    Term::Ref(name.to_string())
                }
                None => {
                    expect_only(node, &["name", "type", "minOccurs", "maxOccurs"]);
                    Term::Element(need(node, "name").to_string(), self.element_type(node))
                }
            },
            "xs:sequence" | "xs:choice" => {
                expect_only(node, &["minOccurs", "maxOccurs"]);
                let items = node.children.iter().map(|c| self.particle(c)).collect();
                if node.name == "xs:sequence" {
                    Term::Sequence(items)
                } else {
                    Term::Choice(items)
                }
            }
            _ => unsupported(node, "particle"),
        };
        Particle { min, max, term }
    }

    /// The element names a content model allows, with their types. One name with two
    /// types would need the schema's position to tell them apart; XSD forbids it
    /// ("Element Declarations Consistent"), and this validator stops on it.
    fn declared(&self, p: &Particle, out: &mut HashMap<String, Type>) {
        let (name, ty) = match &p.term {
            Term::Element(name, ty) => (name.clone(), *ty),
            Term::Ref(name) => (
                name.clone(),
                *self.elements.get(name).unwrap_or_else(|| {
                    panic!("junit schema validator: ref to undeclared element {name}")
                }),
            ),
            Term::Sequence(items) | Term::Choice(items) => {
                return items.iter().for_each(|i| self.declared(i, out));
            }
        };
        if out.insert(name.clone(), ty).is_some_and(|old| old != ty) {
            panic!("junit schema validator: element {name} declared with two types in one content model");
        }
    }

    /// Whether `value` is of the simple type named `name` (a named `xs:simpleType`).
    pub fn simple_type_accepts(&self, name: &str, value: &str) -> bool {
        match self.types.get(name) {
            Some(Type::Simple(i)) => self.simple[*i].regex.is_match(value),
            _ => panic!("no simple type {name} in the schema"),
        }
    }

    /// Every way `xml` breaks the schema, each naming where (`/testsuites/testsuite[2]`);
    /// empty when it is valid.
    pub fn validate(&self, xml: &str) -> Vec<String> {
        let root = match parse(xml) {
            Ok(root) => root,
            Err(e) => return vec![e],
        };
        let mut errors = Vec::new();
        match self.elements.get(&root.name) {
            Some(ty) => self.check(&root, *ty, &format!("/{}", root.name), &mut errors),
            None => errors.push(format!("root element <{}> is not declared", root.name)),
        }
        errors
    }

    fn check(&self, node: &Node, ty: Type, path: &str, errors: &mut Vec<String>) {
        let complex = match ty {
            Type::String | Type::Simple(_) => {
                for (k, _) in &node.attrs {
                    errors.push(format!(
                        "{path}: attribute `{k}` is not allowed (simple content)"
                    ));
                }
                for c in &node.children {
                    errors.push(format!(
                        "{path}: child element <{}> is not allowed (simple content)",
                        c.name
                    ));
                }
                if let Type::Simple(_) = ty {
                    self.check_value(ty, &node.text, path, errors);
                }
                return;
            }
            Type::Complex(i) => &self.complex[i],
        };
        for (k, v) in &node.attrs {
            match complex.attributes.iter().find(|a| &a.name == k) {
                Some(a) => self.check_value(a.ty, v, &format!("{path}/@{k}"), errors),
                None => errors.push(format!("{path}: attribute `{k}` is not declared")),
            }
        }
        for a in complex.attributes.iter().filter(|a| a.required) {
            if node.attr(&a.name).is_none() {
                errors.push(format!(
                    "{path}: required attribute `{}` is missing",
                    a.name
                ));
            }
        }
        if !complex.mixed && !is_blank(&node.text) {
            errors.push(format!(
                "{path}: text {:?} in element-only content",
                node.text.trim()
            ));
        }
        let mut declared = HashMap::new();
        if let Some(p) = &complex.content {
            self.declared(p, &mut declared);
        }
        let names: Vec<&str> = node.children.iter().map(|c| c.name.as_str()).collect();
        let unknown: Vec<&&str> = names
            .iter()
            .filter(|n| !declared.contains_key(**n))
            .collect();
        for n in &unknown {
            errors.push(format!("{path}: child element <{n}> is not allowed here"));
        }
        // With an unknown child the order cannot match either; that error says enough.
        if unknown.is_empty() {
            let fits = match &complex.content {
                Some(p) => ends(p, &names, BTreeSet::from([0])).contains(&names.len()),
                None => names.is_empty(),
            };
            if !fits {
                let model = complex.content.as_ref().map_or("empty".into(), show);
                errors.push(format!(
                    "{path}: child elements ({}) do not match the content model {model}",
                    names.join(", ")
                ));
            }
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for c in &node.children {
            let n = seen.entry(c.name.as_str()).or_default();
            *n += 1;
            if let Some(ty) = declared.get(&c.name) {
                self.check(c, *ty, &format!("{path}/{}[{n}]", c.name), errors);
            }
        }
    }

    fn check_value(&self, ty: Type, value: &str, path: &str, errors: &mut Vec<String>) {
        if let Type::Simple(i) = ty {
            let simple = &self.simple[i];
            if !simple.regex.is_match(value) {
                errors.push(format!(
                    "{path}: {value:?} does not match the pattern {:?} of type {}",
                    simple.patterns.join("|"),
                    simple.name
                ));
            }
        }
    }
}

/// The positions in `names` where `p` can end when it starts at any of `starts`. Keeping
/// every position at once is a backtracking search that never repeats itself; a
/// repetition stops when a round reaches no new position, which also ends the unbounded
/// repetition of a group that can match nothing.
fn ends(p: &Particle, names: &[&str], starts: BTreeSet<usize>) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut current = starts;
    for round in 0u32.. {
        if round >= p.min {
            out.extend(current.iter().copied());
        }
        if current.is_empty() || p.max.is_some_and(|max| round >= max) {
            break;
        }
        let next: BTreeSet<usize> = match &p.term {
            Term::Element(name, _) | Term::Ref(name) => current
                .iter()
                .filter(|&&at| names.get(at) == Some(&name.as_str()))
                .map(|at| at + 1)
                .collect(),
            Term::Sequence(items) => items
                .iter()
                .fold(current.clone(), |at, item| ends(item, names, at)),
            Term::Choice(items) => items
                .iter()
                .flat_map(|item| ends(item, names, current.clone()))
                .collect(),
        };
        // Once past `min`, a round within what is known adds nothing, nor do later ones.
        if round >= p.min && next.is_subset(&out) {
            break;
        }
        current = next;
    }
    out
}

/// A content model as in an error message: `(a | b)*`, `(a, b?)`.
fn show(p: &Particle) -> String {
    let term = match &p.term {
        Term::Element(name, _) | Term::Ref(name) => name.clone(),
        Term::Sequence(items) => format!(
            "({})",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Term::Choice(items) => format!(
            "({})",
            items.iter().map(show).collect::<Vec<_>>().join(" | ")
        ),
    };
    let count = match (p.min, p.max) {
        (1, Some(1)) => String::new(),
        (0, Some(1)) => "?".into(),
        (0, None) => "*".into(),
        (1, None) => "+".into(),
        (min, None) => format!("{{{min},}}"),
        (min, Some(max)) => format!("{{{min},{max}}}"),
    };
    term + &count
}

/// An XSD regular expression as a `regex` one (without the anchors). The two differ in
/// places: XSD has no anchors (`^`, `$` are plain characters outside a class), its `.`
/// excludes `\r` as well as `\n`, and its `\i`, `\c`, `\w`, `\s`, `\p{Is...}` and class
/// subtraction `[a-z-[aeiou]]` have no match-for-match counterpart. What is not
/// translated here panics.
fn translate(pattern: &str, owner: &Node) -> String {
    let mut out = String::new();
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // Single-character escapes, and the digit classes (Unicode `Nd` in both).
                Some(e @ ('n' | 'r' | 't' | 'd' | 'D')) => out.extend(['\\', e]),
                Some(e) if "\\|.-^?*+{}()[]".contains(e) => out.extend(['\\', e]),
                other => {
                    let e = other.map_or("(end)".into(), String::from);
                    unsupported(owner, &format!("pattern escape \\{e} in {pattern:?}"))
                }
            },
            '[' if in_class => unsupported(owner, &format!("class subtraction in {pattern:?}")),
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str(r"[^\n\r]"),
            // Plain characters in XSD; anchors in `regex`, or (doubled) class operators.
            '^' | '$' | '&' | '~' => out.extend(['\\', c]),
            '(' if chars.peek() == Some(&'?') => {
                unsupported(owner, &format!("`(?` in pattern {pattern:?}"))
            }
            _ => out.push(c),
        }
    }
    out
}
