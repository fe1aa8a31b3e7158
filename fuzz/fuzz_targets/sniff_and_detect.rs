#![no_main]
//! Any bytes: sniff the format, parse, and run every built-in rule over the events.
use libfuzzer_sys::fuzz_target;
use secmo_detect::engine::Detector;
use secmo_detect::{Engine, RuleSet};
use secmo_event::Origin;
use secmo_parse::{Parsed, ParserOptions, parser_for, sniff_format};
use std::sync::{Arc, OnceLock};

static DETECTOR: OnceLock<Option<Arc<Detector>>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(detector) = DETECTOR
        .get_or_init(|| RuleSet::builtin().ok().and_then(|r| Detector::new(&r).ok()).map(Arc::new))
        .clone()
    else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let opts = ParserOptions::default();
    let Some((format, _)) = sniff_format(&lines, &opts) else { return };
    let parser = parser_for(format, &opts, &lines);
    let mut engine = Engine::new(detector);
    for (i, line) in lines.iter().enumerate() {
        if let Ok(Parsed::Event(ev)) = parser.parse(line) {
            engine.process(&ev, Origin { input: 0, line: i as u64 + 1 }, line);
        }
    }
    let _ = engine.finish(Vec::new());
});
