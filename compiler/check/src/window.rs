//! Windows (`docs/language.md`, section 4): check each line, the time zone and the `except` graph, and lower the
//! window to [`ward_ir::Window`].
//!
//! Only static facts are checked here; interval arithmetic belongs to the runtime.

use ward_ir as ir;
use ward_syntax::Diagnostic;
use ward_syntax::ast::{self, WindowLineKind};

use crate::checker::{Checker, Def, State};
use crate::codes;
use crate::suggest::did_you_mean;

impl Checker<'_> {
    /// Check and lower a window once. Returns whether it is usable (false after a cycle).
    pub(crate) fn ensure_window(&mut self, idx: u32) -> bool {
        match self.windows[idx as usize].state {
            State::Done => return !self.windows[idx as usize].in_cycle,
            State::InProgress => {
                let start = self
                    .window_stack
                    .iter()
                    .position(|&w| w == idx)
                    .unwrap_or(0);
                let cycle: Vec<u32> = self.window_stack[start..].to_vec();
                if cycle.iter().any(|&w| self.windows[w as usize].in_cycle) {
                    return false;
                }
                let mut path: Vec<String> = cycle
                    .iter()
                    .map(|&w| format!("`{}`", self.windows[w as usize].display))
                    .collect();
                path.push(format!("`{}`", self.windows[idx as usize].display));
                for &w in &cycle {
                    self.windows[w as usize].in_cycle = true;
                }
                let info = &self.windows[idx as usize];
                let diag = Diagnostic::error(
                    codes::EXCEPT_CYCLE,
                    format!(
                        "window `{}` excepts itself: {}",
                        info.display,
                        path.join(" -> ")
                    ),
                    info.decl.name.span,
                )
                .with_help("remove one of the `except` lines of the cycle");
                self.report(info.file, diag);
                return false;
            }
            State::Todo => {}
        }
        let (file, name) = (
            self.windows[idx as usize].file,
            &self.windows[idx as usize].decl.name,
        );
        if self.too_many_pending(file, name) {
            let info = &mut self.windows[idx as usize];
            info.state = State::Done;
            info.in_cycle = true;
            return false;
        }
        self.windows[idx as usize].state = State::InProgress;
        self.window_stack.push(idx);
        let (file, decl) = (
            self.windows[idx as usize].file,
            self.windows[idx as usize].decl,
        );
        let window = self.window_body(file, decl);
        self.window_stack.pop();
        self.windows[idx as usize].state = State::Done;
        let id = self.window_ir_id(idx);
        // 1 plus the deepest window it excepts (`ward_ir::limits`).
        let depth = window
            .except
            .iter()
            .map(|w| self.ir_window_depths.get(w.index()).copied().unwrap_or(1))
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        if depth > ward_ir::MAX_DEPTH {
            let display = self.windows[idx as usize].display.clone();
            self.report_too_deep(
                file,
                decl.name.span,
                crate::depth::Site::Window(&display),
                depth,
            );
            self.ir_window_depths[id as usize] = crate::depth::REPORTED;
        } else {
            self.ir_window_depths[id as usize] = depth;
        }
        self.ir_windows[id as usize] = Some(ir::Window {
            name: self.windows[idx as usize].display.clone(),
            ..window
        });
        !self.windows[idx as usize].in_cycle
    }

    fn window_body(&mut self, file: usize, decl: &ast::WindowDecl) -> ir::Window {
        let mut timezone: Option<(&ast::StrLit, ward_syntax::Span)> = None;
        let mut lines = Vec::new();
        let mut except = Vec::new();
        let module = self.files[file].module.map(|_| file);
        for line in &decl.lines {
            match &line.kind {
                WindowLineKind::Timezone(tz) => {
                    if let Some((_, first)) = timezone {
                        let diag = Diagnostic::error(
                            codes::DUPLICATE_TIMEZONE,
                            format!("window `{}` has more than one `timezone` line", decl.name.name),
                            line.span,
                        )
                        .with_secondary(None, first, "first `timezone` here")
                        .with_help("a window has one time zone: split it into two windows and combine them in the rule");
                        self.report(file, diag);
                        continue;
                    }
                    timezone = Some((tz, line.span));
                    self.check_timezone(file, &tz.value, tz.span);
                }
                WindowLineKind::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                } => {
                    if start_day.value == end_day.value && end.value.minutes <= start.value.minutes
                    {
                        let day = start_day.value.name();
                        let next = ast::Weekday::ALL[start_day.value.number() as usize % 7].name();
                        let diag = Diagnostic::error(
                            codes::BACKWARDS_WEEKLY,
                            if end.value == start.value {
                                format!("this weekly interval is empty: it ends when it starts on `{day}`")
                            } else {
                                format!("this weekly interval ends before it starts on `{day}`")
                            },
                            line.span,
                        )
                        .with_help(format!(
                            "with the same day on both sides the end must be later than the start; to cross midnight name the next day: `{day} {} - {next} {}`",
                            hhmm(start.value.minutes),
                            hhmm(end.value.minutes)
                        ));
                        self.report(file, diag);
                    }
                    lines.push(ir::WindowLine::Weekly {
                        start_day: start_day.value.number(),
                        start: start.value.minutes,
                        end_day: end_day.value.number(),
                        end: end.value.minutes,
                    });
                }
                WindowLineKind::Daily { start, end, days } => {
                    let mut mask = 0u8;
                    if days.is_empty() {
                        mask = 0x7f;
                    }
                    for spec in days {
                        let (first, last) = (spec.first.number(), spec.last.number());
                        let mut d = first;
                        loop {
                            mask |= 1 << (d - 1);
                            if d == last {
                                break;
                            }
                            d = d % 7 + 1;
                        }
                    }
                    lines.push(ir::WindowLine::Daily {
                        start: start.value.minutes,
                        end: end.value.minutes,
                        days: mask,
                    });
                }
                WindowLineKind::Between { from, to } => {
                    if to.value.seconds <= from.value.seconds {
                        let diag = Diagnostic::error(
                            codes::BACKWARDS_BETWEEN,
                            "the end of `between` must be after its start",
                            to.span,
                        )
                        .with_secondary(None, from.span, "start")
                        .with_help("swap the two timestamps");
                        self.report(file, diag);
                    }
                    lines.push(ir::WindowLine::Between {
                        from: from.value.seconds,
                        to: to.value.seconds,
                    });
                }
                WindowLineKind::Except(name) => {
                    let def = module
                        .and_then(|m| {
                            self.module_items
                                .get(&m)
                                .and_then(|items| items.get(&name.name))
                        })
                        .or_else(|| self.globals.get(&name.name))
                        .copied();
                    match def {
                        Some(Def::Window(target)) => {
                            self.def_symbol(file, name.span, &name.name, Def::Window(target));
                            if self.ensure_window(target) {
                                except.push(ir::WindowId(self.window_ir_id(target)));
                            }
                        }
                        other => {
                            let message = match other {
                                Some(def) => {
                                    format!("`{}` is a {}, not a window", name.name, def.kind())
                                }
                                None => format!("unknown window `{}`", name.name),
                            };
                            let windows: Vec<&str> = self
                                .globals
                                .iter()
                                .filter(|(_, d)| matches!(d, Def::Window(_)))
                                .map(|(n, _)| n.as_str())
                                .collect();
                            let mut diag =
                                Diagnostic::error(codes::UNKNOWN_WINDOW, message, name.span);
                            if let Some(help) = did_you_mean(&name.name, windows) {
                                diag = diag.with_help(help);
                            }
                            self.report(file, diag);
                        }
                    }
                }
            }
        }
        if lines.is_empty() && !self.files[file].syntax_errors {
            let diag = Diagnostic::warning(
                codes::NEVER_OPEN,
                format!("window `{}` is never open", decl.name.name),
                decl.name.span,
            )
            .with_help("add a `weekly`, `daily` or `between` line");
            self.report(file, diag);
        }
        ir::Window {
            name: decl.name.name.clone(),
            timezone: timezone.map_or_else(|| "UTC".to_string(), |(tz, _)| tz.value.clone()),
            lines,
            except,
        }
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}
