//! Whole-program rules over the call graph, checked once every function is lowered:
//! no recursion (each cycle reported once, at the call that closes it), and no `atomic`
//! block inside another, not even through calls.

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
        let mut reported: Vec<Vec<usize>> = Vec::new();
        let mut any_cycle = false;
        for root in 0..n {
            if color.get(root) != Some(&Color::White) {
                continue;
            }
            // Stack of (node, next edge index); `path` mirrors the gray nodes.
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(c) = color.get_mut(root) {
                *c = Color::Gray;
            }
            while let Some((node, ei)) = stack.last().copied() {
                let next = edges.get(node).and_then(|e| e.get(ei)).copied();
                let Some((callee, call_span)) = next else {
                    if let Some(c) = color.get_mut(node) {
                        *c = Color::Black;
                    }
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
                        stack.push((callee, 0));
                    }
                    Some(Color::Gray) => {
                        any_cycle = true;
                        let pos = stack.iter().position(|(f, _)| *f == callee).unwrap_or(0);
                        let cycle: Vec<usize> = stack
                            .get(pos..)
                            .unwrap_or(&[])
                            .iter()
                            .map(|(f, _)| *f)
                            .collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.contains(&key) {
                            continue;
                        }
                        reported.push(key);
                        let name =
                            |i: usize| functions.get(i).map_or("?", |(f, _)| f.name.as_str());
                        let msg = if cycle.len() == 1 {
                            format!("recursion is not allowed: `{}` calls itself", name(callee))
                        } else {
                            let mut path: Vec<String> =
                                cycle.iter().map(|i| format!("`{}`", name(*i))).collect();
                            path.push(format!("`{}`", name(callee)));
                            format!("recursion is not allowed: {}", path.join(" calls "))
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
        // Atomic blocks do not nest, not even through calls.
        let mut has_atomic: Vec<bool> = functions.iter().map(|(_, cx)| cx.has_atomic).collect();
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds <= n {
            changed = false;
            rounds += 1;
            for (i, e) in edges.iter().enumerate() {
                if has_atomic.get(i) == Some(&true) {
                    continue;
                }
                if e.iter()
                    .any(|(c, _)| has_atomic.get(*c as usize) == Some(&true))
                {
                    if let Some(h) = has_atomic.get_mut(i) {
                        *h = true;
                    }
                    changed = true;
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
