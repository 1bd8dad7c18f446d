//! Tests of window evaluation: hand-checked tables for each rule of `docs/language.md` §4, and a
//! comparison against a brute-force reference built day by day with jiff's civil calendar.

use super::*;
use crate::time::{format_timestamp, parse_duration, parse_timestamp};
use jiff::civil::{Date, DateTime};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn day_number(name: &str) -> u8 {
    let i = DAYS.iter().position(|d| *d == name).expect("day name");
    u8::try_from(i).expect("small") + 1
}

fn minutes(hhmm: &str) -> u16 {
    let (h, m) = hhmm.split_once(':').expect("HH:MM");
    h.parse::<u16>().expect("hour") * 60 + m.parse::<u16>().expect("minute")
}

fn ts(s: &str) -> i64 {
    parse_timestamp(s).unwrap_or_else(|| panic!("bad timestamp {s}"))
}

fn dur(s: &str) -> i64 {
    parse_duration(s).unwrap_or_else(|| panic!("bad duration {s}"))
}

/// `Mon-Fri`, `Sat, Sun`, `Sat-Mon` (wrapping) into the IR bitmask.
fn day_set(list: &str) -> u8 {
    let mut mask = 0u8;
    for part in list.split(',').map(str::trim) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (mut d, end) = (day_number(a), day_number(b));
        loop {
            mask |= 1 << (d - 1);
            if d == end {
                break;
            }
            d = d % 7 + 1;
        }
    }
    mask
}

/// One line in Ward syntax: `weekly Sat 02:00 - Sat 06:00`, `daily 22:00 - 02:00 on Fri`,
/// `between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z`.
fn line(text: &str) -> WindowLine {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["weekly", d1, t1, "-", d2, t2] => WindowLine::Weekly {
            start_day: day_number(d1),
            start: minutes(t1),
            end_day: day_number(d2),
            end: minutes(t2),
        },
        ["daily", t1, "-", t2] => WindowLine::Daily {
            start: minutes(t1),
            end: minutes(t2),
            days: 0x7f,
        },
        ["daily", t1, "-", t2, "on", ..] => WindowLine::Daily {
            start: minutes(t1),
            end: minutes(t2),
            days: day_set(text.split_once(" on ").expect("on").1),
        },
        ["between", from, "and", to] => WindowLine::Between {
            from: ts(from),
            to: ts(to),
        },
        _ => panic!("bad line {text}"),
    }
}

/// `(name, timezone, lines, excepted names)`.
type Spec<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str]);

fn program(specs: &[Spec<'_>]) -> Vec<Window> {
    specs
        .iter()
        .map(|(name, tz, lines, except)| Window {
            name: (*name).to_owned(),
            timezone: (*tz).to_owned(),
            lines: lines.iter().map(|l| line(l)).collect(),
            except: except
                .iter()
                .map(|e| {
                    let i = specs.iter().position(|s| s.0 == *e).expect("except name");
                    WindowId(u32::try_from(i).expect("small"))
                })
                .collect(),
        })
        .collect()
}

fn compile(specs: &[Spec<'_>]) -> Windows {
    Windows::compile(&program(specs)).expect("compiles")
}

const W0: WindowId = WindowId(0);

/// Checks window 0 at each case: `TIME in REMAINING` (inside, with that much remaining; so
/// `next_open` is `TIME`), `TIME out next NEXT` or `TIME out never` (outside).
fn check(specs: &[Spec<'_>], cases: &[&str]) {
    let windows = compile(specs);
    for case in cases {
        let what = format!("{}: {case}", specs[0].0);
        let (t, remaining, next) = match case.split_whitespace().collect::<Vec<_>>().as_slice() {
            [t, "in", remaining] => (ts(t), dur(remaining), Some(ts(t))),
            [t, "out", "next", next] => (ts(t), 0, Some(ts(next))),
            [t, "out", "never"] => (ts(t), 0, None),
            _ => panic!("bad case {case}"),
        };
        assert_eq!(windows.contains(W0, t), remaining > 0, "in: {what}");
        assert_eq!(windows.remaining(W0, t), remaining, "remaining: {what}");
        assert_eq!(
            windows.next_open(W0, t).map(format_timestamp),
            next.map(format_timestamp),
            "next_open: {what}"
        );
    }
}

#[test]
fn weekly_lines() {
    // 2026-11-28 is a Saturday.
    check(
        &[("w", "UTC", &["weekly Sat 02:00 - Sat 06:00"], &[])],
        &[
            "2026-11-28T01:59:59Z out next 2026-11-28T02:00:00Z",
            "2026-11-28T02:00:00Z in 4h",
            "2026-11-28T05:59:59Z in 1s",
            "2026-11-28T06:00:00Z out next 2026-12-05T02:00:00Z",
            "2026-11-30T12:00:00Z out next 2026-12-05T02:00:00Z",
        ],
    );
    // Crossing midnight.
    check(
        &[("w", "UTC", &["weekly Wed 22:00 - Thu 01:00"], &[])],
        &[
            "2026-11-25T21:00:00Z out next 2026-11-25T22:00:00Z",
            "2026-11-25T23:00:00Z in 2h",
            "2026-11-26T00:30:00Z in 30m",
            "2026-11-26T01:00:00Z out next 2026-12-02T22:00:00Z",
        ],
    );
    // Crossing the week end.
    check(
        &[("w", "UTC", &["weekly Sun 22:00 - Mon 02:00"], &[])],
        &[
            "2026-11-29T23:00:00Z in 3h",
            "2026-11-30T01:00:00Z in 1h",
            "2026-11-30T02:00:00Z out next 2026-12-06T22:00:00Z",
        ],
    );
    // A weekend.
    check(
        &[("w", "UTC", &["weekly Fri 18:00 - Mon 06:00"], &[])],
        &[
            "2026-11-27T17:00:00Z out next 2026-11-27T18:00:00Z",
            "2026-11-27T18:00:00Z in 2d12h",
            "2026-11-29T12:00:00Z in 18h",
            "2026-11-30T05:00:00Z in 1h",
            "2026-11-30T06:00:00Z out next 2026-12-04T18:00:00Z",
        ],
    );
    // The same day with a later end; a week-long line wraps to the next week.
    check(
        &[(
            "w",
            "UTC",
            &[
                "weekly Tue 09:00 - Tue 17:00",
                "weekly Thu 12:00 - Wed 12:00",
            ],
            &[],
        )],
        &[
            "2026-11-24T10:00:00Z in 1d2h",
            "2026-11-24T18:00:00Z in 18h",
            "2026-11-25T12:00:00Z out next 2026-11-26T12:00:00Z",
            "2026-11-26T12:00:00Z in 6d",
            "2026-12-02T11:00:00Z in 1h",
            "2026-12-02T12:00:00Z out next 2026-12-03T12:00:00Z",
        ],
    );
}

#[test]
fn weekly_same_day_end_not_after_start_is_empty() {
    for l in [
        "weekly Tue 23:00 - Tue 16:00",
        "weekly Tue 10:00 - Tue 10:00",
    ] {
        let windows = compile(&[("w", "UTC", &[l], &[])]);
        let t = ts("2026-11-24T23:30:00Z");
        assert!(!windows.contains(W0, t), "{l}");
        assert_eq!(windows.next_open(W0, t), None, "{l}");
    }
}

#[test]
fn daily_lines() {
    // Friday night into Saturday.
    check(
        &[("w", "UTC", &["daily 22:00 - 02:00 on Fri"], &[])],
        &[
            "2026-11-26T23:00:00Z out next 2026-11-27T22:00:00Z",
            "2026-11-27T01:00:00Z out next 2026-11-27T22:00:00Z",
            "2026-11-27T22:00:00Z in 4h",
            "2026-11-28T01:00:00Z in 1h",
            "2026-11-28T02:00:00Z out next 2026-12-04T22:00:00Z",
            "2026-11-28T22:30:00Z out next 2026-12-04T22:00:00Z",
        ],
    );
    check(
        &[(
            "w",
            "Europe/London",
            &["daily 09:00 - 17:30 on Mon-Fri"],
            &[],
        )],
        &[
            "2026-11-27T09:00:00Z in 8h30m",
            "2026-11-27T17:30:00Z out next 2026-11-30T09:00:00Z",
            "2026-11-28T12:00:00Z out next 2026-11-30T09:00:00Z",
            // Summer time: 09:00 BST is 08:00 UTC.
            "2026-07-01T08:00:00Z in 8h30m",
            "2026-07-01T07:59:59Z out next 2026-07-01T08:00:00Z",
        ],
    );
    // Every day by default; a wrapping day range.
    check(
        &[("w", "UTC", &["daily 12:00 - 13:00"], &[])],
        &[
            "2026-11-28T12:30:00Z in 30m",
            "2026-11-28T13:00:00Z out next 2026-11-29T12:00:00Z",
        ],
    );
    check(
        &[("w", "UTC", &["daily 12:00 - 13:00 on Sat-Mon"], &[])],
        &[
            "2026-11-27T12:30:00Z out next 2026-11-28T12:00:00Z",
            "2026-11-29T12:30:00Z in 30m",
            "2026-11-30T12:30:00Z in 30m",
            "2026-11-30T13:00:00Z out next 2026-12-05T12:00:00Z",
        ],
    );
    check(
        &[("w", "UTC", &["daily 08:00 - 09:00 on Mon, Wed-Thu"], &[])],
        &[
            "2026-11-23T08:00:00Z in 1h",
            "2026-11-24T08:00:00Z out next 2026-11-25T08:00:00Z",
            "2026-11-26T08:59:59Z in 1s",
            "2026-11-27T08:00:00Z out next 2026-11-30T08:00:00Z",
        ],
    );
    // An end equal to the start closes on the next day: 24 hours.
    check(
        &[("w", "UTC", &["daily 10:00 - 10:00 on Wed"], &[])],
        &[
            "2026-11-25T10:00:00Z in 1d",
            "2026-11-26T09:00:00Z in 1h",
            "2026-11-26T10:00:00Z out next 2026-12-02T10:00:00Z",
        ],
    );
}

#[test]
fn between_lines() {
    check(
        &[(
            "w",
            "UTC",
            &["between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z"],
            &[],
        )],
        &[
            "2026-12-19T23:59:59Z out next 2026-12-20T00:00:00Z",
            "2026-12-20T00:00:00Z in 14d",
            "2027-01-02T23:00:00Z in 1h",
            "2027-01-03T00:00:00Z out never",
            // The search reaches exactly 366 days ahead.
            "2025-12-18T23:59:59Z out never",
            "2025-12-19T00:00:00Z out next 2026-12-20T00:00:00Z",
        ],
    );
    // An empty or reversed range never opens.
    check(
        &[(
            "w",
            "UTC",
            &["between 2026-12-20T00:00:00Z and 2026-12-20T00:00:00Z"],
            &[],
        )],
        &["2026-12-19T00:00:00Z out never"],
    );
}

#[test]
fn merged_intervals() {
    // Adjacent weekly lines merge.
    check(
        &[(
            "w",
            "UTC",
            &[
                "weekly Sat 02:00 - Sat 06:00",
                "weekly Sat 06:00 - Sat 08:00",
            ],
            &[],
        )],
        &["2026-11-28T02:00:00Z in 6h"],
    );
    // Across line kinds and days: daily 22:00-02:00 then daily 02:00-06:00, then a between.
    check(
        &[(
            "w",
            "UTC",
            &[
                "daily 22:00 - 02:00 on Fri",
                "daily 02:00 - 06:00 on Sat",
                "between 2026-11-28T06:00:00Z and 2026-11-28T07:00:00Z",
                "weekly Sat 06:30 - Sat 09:00",
            ],
            &[],
        )],
        &["2026-11-27T22:00:00Z in 11h", "2026-12-04T22:00:00Z in 8h"],
    );
    // Every day around the clock: open for the whole horizon (decisions.md #18).
    check(
        &[("w", "America/New_York", &["daily 00:00 - 00:00"], &[])],
        &["2026-11-28T02:00:00Z in 366d"],
    );
    check(
        &[(
            "w",
            "UTC",
            &[
                "weekly Mon 00:00 - Sun 00:00",
                "weekly Sun 00:00 - Mon 00:00",
            ],
            &[],
        )],
        &["2026-11-28T02:00:00Z in 366d"],
    );
}

#[test]
fn except_windows() {
    let specs: &[Spec<'_>] = &[
        (
            "prod_changes",
            "America/New_York",
            &[
                "weekly Sat 02:00 - Sat 06:00",
                "weekly Wed 22:00 - Thu 01:00",
            ],
            &["year_end_freeze"],
        ),
        (
            "year_end_freeze",
            "UTC",
            &["between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z"],
            &[],
        ),
    ];
    check(
        specs,
        &[
            // Sat 2026-12-19 02:00 EST is 07:00Z; the freeze starts 00:00Z on 12-20.
            "2026-12-19T07:00:00Z in 4h",
            // Sat 2027-01-02 lies in the freeze; Wed 2027-01-06 22:00 EST is 03:00Z.
            "2026-12-19T12:00:00Z out next 2027-01-07T03:00:00Z",
            "2026-12-26T08:00:00Z out next 2027-01-07T03:00:00Z",
        ],
    );
    // Remaining ends where an except interval starts.
    check(
        &[
            ("w", "UTC", &["weekly Fri 18:00 - Mon 06:00"], &["freeze"]),
            (
                "freeze",
                "UTC",
                &["between 2026-11-28T12:00:00Z and 2026-11-29T12:00:00Z"],
                &[],
            ),
        ],
        &[
            "2026-11-27T18:00:00Z in 18h",
            "2026-11-28T12:00:00Z out next 2026-11-29T12:00:00Z",
            "2026-11-29T12:00:00Z in 18h",
        ],
    );
    // Nested except with other time zones: business hours in Berlin, minus lunch in Berlin
    // (minus a 15-minute all-hands in New York during lunch, which is work time again).
    check(
        &[
            (
                "work",
                "Europe/Berlin",
                &["daily 09:00 - 17:00 on Mon-Fri"],
                &["lunch"],
            ),
            (
                "lunch",
                "Europe/Berlin",
                &["daily 12:00 - 13:00"],
                &["allhands"],
            ),
            (
                "allhands",
                "America/New_York",
                &["weekly Wed 06:30 - Wed 06:45"],
                &[],
            ),
        ],
        &[
            // Winter: Berlin is UTC+1, New York UTC-5; all-hands is 12:30-12:45 in Berlin.
            "2026-11-25T08:00:00Z in 3h",
            "2026-11-25T11:00:00Z out next 2026-11-25T11:30:00Z",
            "2026-11-25T11:30:00Z in 15m",
            "2026-11-25T11:45:00Z out next 2026-11-25T12:00:00Z",
            "2026-11-25T12:00:00Z in 4h",
            "2026-11-26T11:30:00Z out next 2026-11-26T12:00:00Z",
        ],
    );
    // A window that is all except never opens.
    check(
        &[
            ("w", "UTC", &["daily 09:00 - 10:00"], &["all"]),
            ("all", "Asia/Tokyo", &["daily 00:00 - 00:00"], &[]),
        ],
        &["2026-11-25T09:30:00Z out never"],
    );
}

#[test]
fn new_york_spring_forward() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
    let tz = "America/New_York";
    check(
        &[("w", tz, &["daily 01:00 - 04:00 on Sun"], &[])],
        &[
            // 01:00 EST = 06:00Z to 04:00 EDT = 08:00Z: two real hours.
            "2026-03-08T06:00:00Z in 2h",
            "2026-03-08T07:30:00Z in 30m",
        ],
    );
    // A start in the gap moves forward by the gap: 02:30 means 03:30 EDT (07:30Z).
    check(
        &[("w", tz, &["daily 02:30 - 05:00 on Sun"], &[])],
        &[
            "2026-03-08T07:00:00Z out next 2026-03-08T07:30:00Z",
            "2026-03-08T07:30:00Z in 1h30m",
        ],
    );
    // An interval inside the gap, or ending at its end after the shift, is empty.
    let empty = [
        ("daily 02:00 - 03:00 on Sun", "2026-03-15T06:00:00Z"),
        ("daily 02:30 - 03:00 on Sun", "2026-03-15T06:30:00Z"),
        ("daily 02:30 - 03:15 on Sun", "2026-03-15T06:30:00Z"),
    ];
    for (l, next) in empty {
        let windows = compile(&[("w", tz, &[l], &[])]);
        let t = ts("2026-03-08T06:00:00Z");
        assert_eq!(windows.next_open(W0, t), Some(ts(next)), "{l}");
        for probe in [
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:10:00Z",
            "2026-03-08T07:40:00Z",
        ] {
            assert!(!windows.contains(W0, ts(probe)), "{l} at {probe}");
        }
    }
    // Both ends in the gap move by the same amount: 02:00 - 02:59 is 07:00Z - 07:59Z.
    check(
        &[("w", tz, &["daily 02:00 - 02:59 on Sun"], &[])],
        &[
            "2026-03-08T06:59:59Z out next 2026-03-08T07:00:00Z",
            "2026-03-08T07:00:00Z in 59m",
        ],
    );
    // An end in the gap moves forward too: 01:00 - 02:30 is 06:00Z - 07:30Z.
    check(
        &[("w", tz, &["daily 01:00 - 02:30 on Sun"], &[])],
        &["2026-03-08T06:00:00Z in 1h30m"],
    );
    // A weekly line spanning the change keeps its wall-clock hours: Sat 12:00 EST to
    // Sun 12:00 EDT is 23 hours.
    check(
        &[("w", tz, &["weekly Sat 12:00 - Sun 12:00"], &[])],
        &["2026-03-07T17:00:00Z in 23h"],
    );
}

#[test]
fn new_york_fall_back() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:xx happens twice.
    let tz = "America/New_York";
    // 00:00 EDT (04:00Z) to 03:00 EST (08:00Z): four real hours.
    check(
        &[("w", tz, &["daily 00:00 - 03:00 on Sun"], &[])],
        &["2026-11-01T04:00:00Z in 4h"],
    );
    // An ambiguous start or end means the earlier instant (EDT).
    check(
        &[("w", tz, &["daily 01:30 - 04:00 on Sun"], &[])],
        &[
            "2026-11-01T05:29:59Z out next 2026-11-01T05:30:00Z",
            "2026-11-01T05:30:00Z in 3h30m",
        ],
    );
    check(
        &[("w", tz, &["daily 00:00 - 01:30 on Sun"], &[])],
        &[
            "2026-11-01T04:00:00Z in 1h30m",
            // 01:30 EST (the second 01:30) is outside.
            "2026-11-01T06:30:00Z out next 2026-11-08T05:00:00Z",
        ],
    );
    // 01:00 - 01:59 covers only the first (EDT) hour.
    check(
        &[("w", tz, &["daily 01:00 - 01:59 on Sun"], &[])],
        &[
            "2026-11-01T05:00:00Z in 59m",
            "2026-11-01T06:10:00Z out next 2026-11-08T06:00:00Z",
        ],
    );
    // Sat 12:00 EDT to Sun 12:00 EST is 25 hours.
    check(
        &[("w", tz, &["weekly Sat 12:00 - Sun 12:00"], &[])],
        &["2026-10-31T16:00:00Z in 25h"],
    );
}

#[test]
fn london_and_sydney_and_berlin() {
    // London: 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.
    check(
        &[("w", "Europe/London", &["daily 00:30 - 03:00 on Sun"], &[])],
        &[
            "2026-03-29T00:30:00Z in 1h30m",
            // 00:30 BST is 23:30Z the day before; 03:00 GMT is 03:00Z.
            "2026-10-24T23:30:00Z in 3h30m",
            "2026-10-25T00:30:00Z in 2h30m",
        ],
    );
    check(
        &[("w", "Europe/London", &["daily 01:15 - 01:45"], &[])],
        &[
            // Spring: 01:15 and 01:45 both move forward by an hour: 01:15Z - 01:45Z.
            "2026-03-29T01:15:00Z in 30m",
            // Autumn: the earlier (BST) occurrence, 00:15Z - 00:45Z.
            "2026-10-25T00:15:00Z in 30m",
            "2026-10-25T01:15:00Z out next 2026-10-26T01:15:00Z",
        ],
    );
    // Sydney (southern hemisphere): 2026-04-05 03:00 AEDT -> 02:00 AEST;
    // 2026-10-04 02:00 AEST -> 03:00 AEDT.
    check(
        &[(
            "w",
            "Australia/Sydney",
            &["weekly Sat 22:00 - Sun 04:00"],
            &[],
        )],
        &[
            // Sat 22:00 AEDT = 11:00Z to Sun 04:00 AEST = 18:00Z: 7 hours.
            "2026-04-04T11:00:00Z in 7h",
            // Sat 22:00 AEST = 12:00Z to Sun 04:00 AEDT = 17:00Z: 5 hours.
            "2026-10-03T12:00:00Z in 5h",
        ],
    );
    // Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
    check(
        &[(
            "w",
            "Europe/Berlin",
            &["daily 02:15 - 02:45 on Sun", "daily 03:00 - 04:00 on Sun"],
            &[],
        )],
        &[
            // 02:15-02:45 moves to 03:15-03:45 CEST, inside 03:00-04:00: merged 01:00Z-02:00Z.
            "2026-03-29T01:00:00Z in 1h",
            "2026-03-29T00:59:59Z out next 2026-03-29T01:00:00Z",
        ],
    );
}

#[test]
fn fits_and_out_of_range() {
    let windows = compile(&[("w", "UTC", &["weekly Sat 02:00 - Sat 06:00"], &[])]);
    let t = ts("2026-11-28T03:00:00Z");
    assert!(windows.fits(W0, t, dur("3h")));
    assert!(!windows.fits(W0, t, dur("3h1s")));
    assert!(windows.fits(W0, t, 0));
    assert!(!windows.fits(W0, ts("2026-11-28T07:00:00Z"), 0));
    assert!(!windows.fits(W0, ts("2026-11-28T07:00:00Z"), -5));
    let always = compile(&[("w", "UTC", &["daily 00:00 - 00:00"], &[])]);
    assert!(always.fits(W0, t, HORIZON));
    assert!(!always.fits(W0, t, HORIZON + 1));
    // Unknown window ids and timestamps outside years 1 ..= 9999.
    let bad = WindowId(7);
    assert!(!windows.contains(bad, t));
    assert_eq!(windows.remaining(bad, t), 0);
    assert!(!windows.fits(bad, t, 0));
    assert_eq!(windows.next_open(bad, t), None);
    for t in [i64::MIN, MIN_TIMESTAMP - 1, MAX_TIMESTAMP + 1, i64::MAX] {
        assert!(!always.contains(W0, t));
        assert_eq!(always.remaining(W0, t), 0);
        assert_eq!(always.next_open(W0, t), None);
    }
    // At the edges of time: the window ends with the supported range.
    assert_eq!(always.remaining(W0, MAX_TIMESTAMP), 1);
    assert!(always.contains(W0, MIN_TIMESTAMP));
    assert_eq!(always.remaining(W0, MIN_TIMESTAMP), HORIZON);
    let zoned = compile(&[("w", "Pacific/Kiritimati", &["daily 23:00 - 01:00"], &[])]);
    for t in [MIN_TIMESTAMP, MAX_TIMESTAMP - 3_600, MAX_TIMESTAMP] {
        let _ = (
            zoned.contains(W0, t),
            zoned.remaining(W0, t),
            zoned.next_open(W0, t),
        );
    }
}

#[test]
fn compile_errors() {
    let mut bad_tz = program(&[("w", "UTC", &["daily 09:00 - 10:00"], &[])]);
    bad_tz[0].timezone = "Mars/Olympus".to_owned();
    assert_eq!(
        Windows::compile(&bad_tz).unwrap_err().to_string(),
        "unknown time zone `Mars/Olympus` in window `w`"
    );
    let cycle = program(&[
        ("a", "UTC", &["daily 09:00 - 10:00"], &["b"]),
        ("b", "UTC", &["daily 09:00 - 10:00"], &["c"]),
        ("c", "UTC", &["daily 09:00 - 10:00"], &["a"]),
    ]);
    assert!(matches!(
        Windows::compile(&cycle),
        Err(WindowError::ExceptCycle { .. })
    ));
    let self_cycle = program(&[("a", "UTC", &["daily 09:00 - 10:00"], &["a"])]);
    assert!(matches!(
        Windows::compile(&self_cycle),
        Err(WindowError::ExceptCycle { .. })
    ));
    // A diamond is not a cycle.
    let diamond = program(&[
        ("a", "UTC", &["daily 09:00 - 10:00"], &["b", "c"]),
        ("b", "UTC", &["daily 09:00 - 10:00"], &["d"]),
        ("c", "UTC", &["daily 09:00 - 10:00"], &["d"]),
        ("d", "UTC", &["daily 09:00 - 10:00"], &[]),
    ]);
    assert!(Windows::compile(&diamond).is_ok());
    let mut missing = program(&[("a", "UTC", &["daily 09:00 - 10:00"], &[])]);
    missing[0].except.push(WindowId(3));
    assert_eq!(
        Windows::compile(&missing).unwrap_err().to_string(),
        "window `a` excepts window number 3, which does not exist"
    );
    let bad_lines = [
        WindowLine::Weekly {
            start_day: 0,
            start: 0,
            end_day: 1,
            end: 0,
        },
        WindowLine::Weekly {
            start_day: 1,
            start: 0,
            end_day: 8,
            end: 0,
        },
        WindowLine::Daily {
            start: 1440,
            end: 0,
            days: 1,
        },
        WindowLine::Daily {
            start: 0,
            end: 60,
            days: 0x80,
        },
    ];
    for l in bad_lines {
        let mut p = program(&[("a", "UTC", &[], &[])]);
        p[0].lines.push(l.clone());
        assert!(
            matches!(Windows::compile(&p), Err(WindowError::InvalidLine { .. })),
            "{l:?}"
        );
    }
    assert!(Windows::compile(&[]).expect("empty").is_empty());
}

#[test]
fn windows_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Windows>();
}

#[test]
fn local_map_agrees_with_jiff() {
    // Every 10 minutes over weeks around transitions, in several zones.
    let zones = [
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Pacific/Apia",
    ];
    let starts = [
        "2026-03-01T00:00:00Z",
        "2026-09-25T00:00:00Z",
        "2011-12-25T00:00:00Z",
        // Beyond the precomputed tables: transitions come from jiff directly.
        "2350-03-01T00:00:00Z",
        "2350-09-25T00:00:00Z",
        "1890-01-01T00:00:00Z",
    ];
    for name in zones {
        let tz = timezone(name).expect("zone");
        let zone = Zone::Tz(Transitions::new(tz.clone()));
        for start in starts {
            let lo = ts(start);
            let hi = lo + 6 * WEEK;
            let map = LocalMap::new(&zone, lo, hi);
            assert!(map.exact.is_none(), "{name} {start}");
            let mut x = lo;
            while x < hi {
                assert_eq!(
                    map.to_instant(x),
                    exact_instant(&tz, x),
                    "{name} local {}",
                    format_timestamp(x)
                );
                x += 600;
            }
        }
    }
}

/// The set of window `w` in `[lo, hi)`, built independently: day by day with jiff's civil
/// calendar and jiff's `compatible` disambiguation.
fn reference(windows: &[Window], w: usize, lo: i64, hi: i64) -> Vec<Interval> {
    let win = &windows[w];
    let tz = timezone(&win.timezone).expect("zone");
    let instant = |date: Date, minute: u16| -> i64 {
        let dt = DateTime::new(
            date.year(),
            date.month(),
            date.day(),
            (minute / 60) as i8,
            (minute % 60) as i8,
            0,
            0,
        )
        .expect("datetime");
        tz.to_ambiguous_timestamp(dt)
            .compatible()
            .expect("instant")
            .as_second()
    };
    let mut out = Vec::new();
    let first = Timestamp::from_second(lo - 9 * DAY)
        .expect("ts")
        .to_zoned_datetime(TimeZone::UTC)
        .date();
    let mut date = first;
    while instant(date, 0) < hi + 2 * DAY {
        let weekday = i64::from(date.weekday().to_monday_one_offset());
        for l in &win.lines {
            match *l {
                WindowLine::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                } => {
                    if weekday != i64::from(start_day) {
                        continue;
                    }
                    let gap = (i64::from(end_day) - i64::from(start_day)).rem_euclid(7);
                    if gap == 0 && end <= start {
                        continue;
                    }
                    let end_date = date.checked_add(jiff::Span::new().days(gap)).expect("date");
                    out.push((instant(date, start), instant(end_date, end)));
                }
                WindowLine::Daily { start, end, days } => {
                    if days & (1 << (weekday - 1)) == 0 {
                        continue;
                    }
                    let end_date = if end <= start {
                        date.tomorrow().expect("date")
                    } else {
                        date
                    };
                    out.push((instant(date, start), instant(end_date, end)));
                }
                WindowLine::Between { .. } => {}
            }
        }
        date = date.tomorrow().expect("date");
    }
    for l in &win.lines {
        if let WindowLine::Between { from, to } = *l {
            out.push((from, to));
        }
    }
    let mut out: Vec<Interval> = out
        .into_iter()
        .map(|(s, e)| (s.max(lo), e.min(hi)))
        .filter(|(s, e)| s < e)
        .collect();
    normalize(&mut out);
    for e in &win.except {
        let minus = reference(windows, e.index(), lo, hi);
        let mut result = Vec::new();
        subtract(&out, &minus, &mut result);
        out = result;
    }
    out
}

#[test]
fn agrees_with_reference() {
    let specs: &[Spec<'_>] = &[
        (
            "a",
            "America/New_York",
            &[
                "weekly Sat 01:30 - Sun 02:30",
                "daily 22:00 - 02:00 on Fri",
                "daily 02:00 - 03:00 on Sat",
                "daily 01:00 - 01:30 on Sun, Mon",
                "weekly Sun 02:15 - Sun 02:45",
                "weekly Sun 23:30 - Mon 01:15",
            ],
            &["b"],
        ),
        (
            "b",
            "Europe/London",
            &[
                "daily 06:00 - 07:00 on Sun-Tue",
                "weekly Sun 00:30 - Sun 02:30",
            ],
            &["c"],
        ),
        (
            "c",
            "Australia/Sydney",
            &[
                "daily 17:00 - 17:30",
                "between 2026-03-20T00:00:00Z and 2026-03-22T00:00:00Z",
            ],
            &[],
        ),
        (
            "d",
            "Europe/Berlin",
            &[
                "daily 02:00 - 03:00",
                "daily 03:00 - 02:00 on Wed",
                "weekly Sun 02:30 - Sun 02:40",
            ],
            &[],
        ),
    ];
    let windows = program(specs);
    let compiled = Windows::compile(&windows).expect("compiles");
    let span = 70 * DAY;
    let starts = ["2026-02-20T00:00:00Z", "2026-09-20T00:00:00Z"];
    for (lo, w) in starts
        .iter()
        .flat_map(|s| (0..windows.len()).map(move |w| (ts(s), w)))
    {
        let hi = lo + span + HORIZON + WEEK;
        let (mut inside_count, mut outside_count) = (0, 0);
        let set = reference(&windows, w, lo, hi);
        let id = WindowId(u32::try_from(w).expect("small"));
        let mut t = lo;
        let mut seed: i64 = 12_345;
        while t < lo + span {
            let inside = set.iter().find(|&&(s, e)| s <= t && t < e);
            let what = format!("{} at {}", windows[w].name, format_timestamp(t));
            assert_eq!(compiled.contains(id, t), inside.is_some(), "in: {what}");
            if inside.is_some() {
                inside_count += 1;
            } else {
                outside_count += 1;
            }
            let remaining = inside.map_or(0, |&(_, e)| (e - t).min(HORIZON));
            assert_eq!(compiled.remaining(id, t), remaining, "remaining: {what}");
            let next = if inside.is_some() {
                Some(t)
            } else {
                set.iter()
                    .find(|&&(s, _)| s > t)
                    .map(|&(s, _)| s)
                    .filter(|&s| s <= t + HORIZON)
            };
            assert_eq!(compiled.next_open(id, t), next, "next_open: {what}");
            // Pseudo-random steps of up to 40 minutes, sometimes landing on a boundary.
            seed = (seed * 1_103_515_245 + 12_345).rem_euclid(1 << 31);
            t += 1 + seed % 2_400;
            let boundary = set.iter().find(|&&(s, e)| s > t || e > t);
            if let (0, Some(&(s, e))) = (seed % 5, boundary) {
                t = if s > t { s } else { e };
            }
        }
        assert!(
            inside_count > 50 && outside_count > 50,
            "{inside_count} {outside_count}"
        );
    }
}

/// The cached queries agree with the direct computation (the reference): random instants over
/// the whole cached span, days around DST transitions in several zones, chunk boundaries and
/// the edges of the cached span, for windows with except windows, between lines and lines
/// crossing midnight, a week's end and DST changes.
#[test]
fn cache_agrees_with_direct_computation() {
    let specs: &[Spec<'_>] = &[
        (
            "a",
            "America/New_York",
            &[
                "weekly Sat 01:30 - Sun 02:30",
                "daily 22:00 - 02:00 on Fri",
                "daily 02:00 - 03:00 on Sat",
                "weekly Sun 23:30 - Mon 01:15",
            ],
            &["b"],
        ),
        (
            "b",
            "Europe/London",
            &[
                "daily 06:00 - 07:00 on Sun-Tue",
                "weekly Sun 00:30 - Sun 02:30",
            ],
            &["c"],
        ),
        (
            "c",
            "Australia/Sydney",
            &[
                "daily 17:00 - 17:30",
                "between 2026-03-20T00:00:00Z and 2026-03-22T00:00:00Z",
            ],
            &[],
        ),
        (
            "d",
            "Europe/Berlin",
            &["daily 02:00 - 03:00", "daily 03:00 - 02:00 on Wed"],
            &["e"],
        ),
        ("e", "UTC", &["daily 00:00 - 00:00 on Sat"], &[]),
        ("always", "Asia/Kolkata", &["daily 00:00 - 00:00"], &[]),
        (
            "holidays",
            "Pacific/Auckland",
            &["between 1990-12-20T00:00:00Z and 2091-01-03T00:00:00Z"],
            &["d"],
        ),
        ("empty", "UTC", &[], &[]),
    ];
    let windows = compile(specs);
    let mut instants: Vec<i64> = Vec::new();
    // Random instants over (and a little beyond) the cached span.
    let mut seed: i64 = 987_654_321;
    for _ in 0..300 {
        seed = (seed * 1_103_515_245 + 12_345).rem_euclid(1 << 31);
        let t = CACHE_FROM - 2 * HORIZON
            + (seed * 7_919).rem_euclid(CACHE_TO - CACHE_FROM + 4 * HORIZON);
        instants.push(t);
    }
    // Every 7 minutes (plus a second) around DST transitions in the zones used.
    for day in [
        "2026-03-07T00:00:00Z",
        "2026-03-28T00:00:00Z",
        "2026-04-04T00:00:00Z",
        "2026-10-03T00:00:00Z",
        "2026-10-24T00:00:00Z",
        "2026-10-31T00:00:00Z",
        "2030-03-09T00:00:00Z",
    ] {
        let lo = ts(day);
        instants.extend((0..(3 * DAY / 421)).map(|k| lo + k * 421));
    }
    // Chunk boundaries and the edges of the cached span.
    for i in [
        0,
        1,
        2,
        700,
        1_000,
        CACHE_CHUNKS - 20,
        CACHE_CHUNKS - 1,
        CACHE_CHUNKS,
    ] {
        let b = chunk_start(i);
        instants.extend([
            b - 1,
            b,
            b + 1,
            b - HORIZON - 1,
            b - HORIZON,
            b - HORIZON - 2,
        ]);
    }
    let mut checked_in = 0;
    for &t in &instants {
        for (w, spec) in specs.iter().enumerate() {
            let id = WindowId(u32::try_from(w).expect("small"));
            let what = format!("{} at {}", spec.0, format_timestamp(t));
            let inside = windows.contains_direct(id, t);
            checked_in += usize::from(inside);
            assert_eq!(windows.contains(id, t), inside, "in: {what}");
            assert_eq!(
                windows.remaining(id, t),
                windows.remaining_direct(id, t),
                "remaining: {what}"
            );
            assert_eq!(
                windows.next_open(id, t),
                windows.next_open_direct(id, t),
                "next_open: {what}"
            );
            for d in [1, 3_600, 6 * 3_600, 9 * DAY, HORIZON] {
                let direct = inside && windows.remaining_capped(w, t, d) >= d;
                assert_eq!(windows.fits(id, t, d), direct, "fits {d}: {what}");
            }
        }
    }
    assert!(checked_in > 300, "{checked_in}");
}

/// Intervals running across chunk boundaries merge into one in `remaining`.
#[test]
fn cache_merges_across_chunks() {
    let windows = compile(&[("always", "UTC", &["daily 00:00 - 00:00"], &[])]);
    let t = chunk_start(10) - 5;
    assert_eq!(windows.remaining(W0, t), HORIZON);
    assert_eq!(windows.remaining_direct(W0, t), HORIZON);
    assert!(windows.fits(W0, t, 5 * CHUNK));
    let windows = compile(&[(
        "span",
        "UTC",
        &["between 2026-01-01T00:00:00Z and 2026-06-01T00:00:00Z"],
        &[],
    )]);
    let t = ts("2026-01-01T00:00:00Z");
    assert_eq!(windows.remaining(W0, t), ts("2026-06-01T00:00:00Z") - t);
    assert_eq!(windows.next_open(W0, t - 90 * DAY), Some(t));
}
