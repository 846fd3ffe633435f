//! Whole-program rules over the call graph, checked once every function is lowered:
//! no recursion (each cycle reported once, at the call that closes it), and no `atomic`
//! block inside another, not even through calls.

use std::collections::HashSet;

use wqcheck_model::ir::{self, FuncId, Span};

use super::{Checker, FnCx};

impl<'a> Checker<'a> {
    pub(super) fn check_call_graph(&mut self, functions: &[(ir::Function, FnCx)]) {
        let n = functions.len();
        let edges: Vec<Vec<(FuncId, Span)>> = functions
            .iter()
            .map(|(_, cx)| cx.calls.iter().map(|(f, s, _)| (*f, *s)).collect())
            .collect();
        // Iterative DFS; a back edge closes a cycle.
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            White,
            Gray,
            Black,
        }
        let mut color = vec![Color::White; n];
        // Where each gray node sits on the DFS stack (so a cycle is found in O(1)).
        let mut depth_of = vec![usize::MAX; n];
        // Each cycle is closed by one back edge (caller, callee) and each back edge
        // closes one cycle, so the pair identifies the cycle (two calls of the same
        // function close it once).
        let mut reported: HashSet<(usize, usize)> = HashSet::new();
        // Functions in the order the DFS finishes them: callees before callers.
        let mut finished: Vec<usize> = Vec::with_capacity(n);
        let mut any_cycle = false;
        for root in 0..n {
            if color.get(root) != Some(&Color::White) {
                continue;
            }
            // Stack of (node, next edge index).
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(c) = color.get_mut(root) {
                *c = Color::Gray;
            }
            if let Some(d) = depth_of.get_mut(root) {
                *d = 0;
            }
            while let Some((node, ei)) = stack.last().copied() {
                let next = edges.get(node).and_then(|e| e.get(ei)).copied();
                let Some((callee, call_span)) = next else {
                    if let Some(c) = color.get_mut(node) {
                        *c = Color::Black;
                    }
                    finished.push(node);
                    stack.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let callee = callee as usize;
                match color.get(callee).copied() {
                    Some(Color::White) => {
                        if let Some(c) = color.get_mut(callee) {
                            *c = Color::Gray;
                        }
                        if let Some(d) = depth_of.get_mut(callee) {
                            *d = stack.len();
                        }
                        stack.push((callee, 0));
                    }
                    Some(Color::Gray) => {
                        any_cycle = true;
                        if !reported.insert((node, callee)) {
                            continue;
                        }
                        let pos = depth_of.get(callee).copied().unwrap_or(0);
                        let cycle = stack.get(pos..).unwrap_or(&[]);
                        let name =
                            |i: usize| functions.get(i).map_or("?", |(f, _)| f.name.as_str());
                        let msg = if cycle.len() == 1 {
                            format!("recursion is not allowed: `{}` calls itself", name(callee))
                        } else {
                            let path: Vec<&str> = cycle
                                .iter()
                                .map(|(f, _)| name(*f))
                                .chain(std::iter::once(name(callee)))
                                .collect();
                            format!("recursion is not allowed: {}", cycle_text(&path))
                        };
                        self.error_help(
                            call_span,
                            msg,
                            "wqcheck explores a finite state space: rewrite the recursion as a loop",
                        );
                    }
                    _ => {}
                }
            }
        }
        if any_cycle {
            return;
        }
        // Atomic blocks do not nest, not even through calls. Without cycles, the DFS
        // finished every callee before its callers: one pass in that order propagates
        // "contains an atomic block" up the call graph.
        let mut has_atomic: Vec<bool> = functions.iter().map(|(_, cx)| cx.has_atomic).collect();
        for &i in &finished {
            let via_call = edges.get(i).is_some_and(|e| {
                e.iter()
                    .any(|(c, _)| has_atomic.get(*c as usize) == Some(&true))
            });
            if via_call {
                if let Some(h) = has_atomic.get_mut(i) {
                    *h = true;
                }
            }
        }
        for (_, cx) in functions {
            for (callee, span, in_atomic) in &cx.calls {
                if *in_atomic && has_atomic.get(*callee as usize) == Some(&true) {
                    let name = functions
                        .get(*callee as usize)
                        .map_or("?", |(f, _)| f.name.as_str());
                    self.error_help(
                        *span,
                        format!("`{name}` contains an `atomic` block and is called inside one"),
                        "`atomic` blocks do not nest, not even through calls",
                    );
                }
            }
        }
    }
}

/// Functions named in full in a recursion message; a longer cycle shows its first and
/// last ones and counts the rest (a message stays short however long the cycle).
const MAX_CYCLE_NAMES: usize = 8;

/// "`a` calls `b` calls `a`", with the middle of a long cycle elided.
fn cycle_text(path: &[&str]) -> String {
    let quoted =
        |names: &[&str]| -> Vec<String> { names.iter().map(|n| format!("`{n}`")).collect() };
    if path.len() <= MAX_CYCLE_NAMES {
        return quoted(path).join(" calls ");
    }
    let head = path.get(..MAX_CYCLE_NAMES / 2).unwrap_or(&[]);
    let tail = path.get(path.len() - MAX_CYCLE_NAMES / 2..).unwrap_or(&[]);
    let left_out = path.len() - head.len() - tail.len();
    format!(
        "{} calls … ({left_out} more) … calls {}",
        quoted(head).join(" calls "),
        quoted(tail).join(" calls ")
    )
}
