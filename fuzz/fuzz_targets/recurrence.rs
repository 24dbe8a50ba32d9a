//! A meeting's time plan as the scheduling API receives it (JSON with the
//! start, zone, length, repetition and changed occurrences): it is refused
//! with a reason or expands into sorted occurrences without panicking, in
//! every zone and across daylight-saving changes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use yunhui_proto::schedule::{OccurrenceException, Recurrence};
use yunhui_signal::recurrence::Timing;

#[derive(Deserialize)]
struct Plan {
    start: String,
    time_zone: String,
    duration_minutes: u32,
    #[serde(default)]
    recurrence: Option<Recurrence>,
    #[serde(default)]
    exceptions: Vec<OccurrenceException>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(plan) = serde_json::from_slice::<Plan>(data) else {
        return;
    };
    let Ok(timing) = Timing::parse(
        &plan.start,
        &plan.time_zone,
        plan.duration_minutes,
        plan.recurrence.as_ref(),
    ) else {
        return;
    };
    let starts = timing.series_starts().expect("a parsed plan expands");
    assert!(!starts.is_empty(), "a parsed plan has an occurrence");
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "series starts ascend"
    );
    if let Ok(slots) = timing.slots(&plan.exceptions) {
        assert!(
            slots.windows(2).all(|w| w[0].start <= w[1].start),
            "slots are sorted"
        );
        assert!(slots.len() <= starts.len());
    }
    let first = starts[0].date_naive();
    assert!(
        timing
            .has_occurrence_on(first)
            .expect("a parsed plan expands")
    );
});
