//! JUnit XML reports, as test runners write them (`<testsuites>` or a bare
//! `<testsuite>`): each case with its result, time and failure message.
//! Read with quick-xml directly: quick-junit's reader wants attributes that
//! pytest, Jest and others leave out.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::event::{TestCase, TestResult};

/// The cases of one report, or why it is not JUnit XML.
pub(crate) fn parse(xml: &str) -> Result<Vec<TestCase>, String> {
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut suite: Vec<String> = Vec::new();
    let mut current: Option<TestCase> = None;
    // The text of a failure or error being read.
    let mut failure: Option<String> = None;
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(tag) | Event::Empty(tag) if !seen_root => {
                seen_root = true;
                let name = tag.name().0;
                if !matches!(name, "testsuites" | "testsuite") {
                    return Err(format!(
                        "its root is <{name}>, not <testsuites> or <testsuite>"
                    ));
                }
                if name == "testsuite" {
                    suite.push(attr(&tag, "name").unwrap_or_default());
                }
            }
            Event::Start(tag) => match tag.name().0 {
                "testsuite" => suite.push(attr(&tag, "name").unwrap_or_default()),
                "testcase" => current = Some(case(&tag, &suite)),
                "failure" | "error" => {
                    failure = Some(String::new());
                    mark(&mut current, &tag);
                }
                "skipped" => mark(&mut current, &tag),
                _ => {}
            },
            Event::Empty(tag) => match tag.name().0 {
                "testcase" => cases.push(case(&tag, &suite)),
                "failure" | "error" | "skipped" => mark(&mut current, &tag),
                _ => {}
            },
            Event::Text(text) => {
                if let Some(f) = failure.as_mut() {
                    f.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(f) = failure.as_mut() {
                    f.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(f) = failure.as_mut() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => f.push(c),
                        _ => f.push_str(
                            quick_xml::escape::resolve_predefined_entity(&reference).unwrap_or(""),
                        ),
                    }
                }
            }
            Event::End(tag) => match tag.name().0 {
                "testsuite" => {
                    suite.pop();
                }
                "testcase" => cases.extend(current.take()),
                "failure" | "error" => {
                    let text = failure.take().unwrap_or_default();
                    let text = text.trim();
                    if let Some(case) = current.as_mut()
                        && !text.is_empty()
                    {
                        if case.message.is_none() {
                            case.message = text.lines().next().map(str::to_string);
                        }
                        case.detail = text.to_string();
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("it is empty".into());
    }
    Ok(cases)
}

fn attr(tag: &BytesStart, name: &str) -> Option<String> {
    tag.attributes()
        .flatten()
        .find(|a| a.key.0 == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn case(tag: &BytesStart, suite: &[String]) -> TestCase {
    let classname = attr(tag, "classname")
        .filter(|c| !c.is_empty())
        .or_else(|| suite.last().cloned().filter(|s| !s.is_empty()));
    TestCase {
        name: attr(tag, "name").unwrap_or_default(),
        classname,
        result: TestResult::Passed,
        time_ms: attr(tag, "time")
            .and_then(|t| t.parse::<f64>().ok())
            .map(|s| (s * 1000.0).round() as u64),
        message: None,
        detail: String::new(),
        file: attr(tag, "file"),
    }
}

fn mark(current: &mut Option<TestCase>, tag: &BytesStart) {
    let Some(case) = current.as_mut() else { return };
    case.result = match tag.name().0 {
        "failure" => TestResult::Failed,
        "error" => TestResult::Error,
        _ => TestResult::Skipped,
    };
    if let Some(message) = attr(tag, "message").filter(|m| !m.is_empty()) {
        case.message = Some(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pytest_s_report_with_a_failure() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4" time="0.05">
<testcase classname="test_app.TestApp" name="test_home" time="0.010"/>
<testcase classname="test_app.TestApp" name="test_sum" time="0.002"><failure message="AssertionError: assert 3 == 4">def test_sum():
&gt;       assert 1 + 2 == 4
E       AssertionError</failure></testcase>
<testcase classname="test_app" name="test_later" time="0"><skipped message="not yet"/></testcase>
<testcase classname="test_app" name="test_boom" time="0.1"><error message="">RuntimeError: boom</error></testcase>
</testsuite></testsuites>"#;
        let cases = parse(xml).unwrap();
        let names: Vec<(&str, TestResult)> =
            cases.iter().map(|c| (c.name.as_str(), c.result)).collect();
        assert_eq!(
            names,
            [
                ("test_home", TestResult::Passed),
                ("test_sum", TestResult::Failed),
                ("test_later", TestResult::Skipped),
                ("test_boom", TestResult::Error),
            ]
        );
        assert_eq!(cases[0].time_ms, Some(10));
        assert_eq!(cases[1].classname.as_deref(), Some("test_app.TestApp"));
        assert_eq!(
            cases[1].message.as_deref(),
            Some("AssertionError: assert 3 == 4")
        );
        assert!(cases[1].detail.contains("> "), "{:?}", cases[1].detail);
        assert_eq!(cases[3].message.as_deref(), Some("RuntimeError: boom"));
    }

    #[test]
    fn a_bare_testsuite_names_its_cases_classes() {
        let xml = r#"<testsuite name="unit"><testcase name="adds"/></testsuite>"#;
        let cases = parse(xml).unwrap();
        assert_eq!(cases[0].classname.as_deref(), Some("unit"));
    }

    #[test]
    fn what_is_not_junit_says_so() {
        assert!(parse("<html></html>").unwrap_err().contains("<html>"));
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("<testsuites><testsuite").is_err());
    }
}
