//! The `condition:` expression: selection names joined by `and`, `or`, `not`,
//! parentheses, and `1 of sel*` / `all of sel*` / `1 of them` / `all of them`.
//! Precedence: `not` binds tightest, then `and`, then `or`.

/// A parsed condition over selection indices (positions in the name list given to [`parse`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Sel(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Evaluate with `sel` giving each selection's truth; short-circuits.
    pub fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Not(e) => !e.eval(sel),
            Expr::And(v) => v.iter().all(|e| e.eval(sel)),
            Expr::Or(v) => v.iter().any(|e| e.eval(sel)),
        }
    }
}

/// Parse `text` against the selection `names`. Errors are short reasons.
pub fn parse(text: &str, names: &[&str]) -> Result<Expr, String> {
    let tokens = tokenize(text);
    let mut p = Parser {
        tokens,
        pos: 0,
        names,
    };
    let e = p.or()?;
    match p.tokens.get(p.pos) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected `{t}` in condition")),
    }
}

fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

struct Parser<'n> {
    tokens: Vec<String>,
    pos: usize,
    names: &'n [&'n str],
}

impl Parser<'_> {
    fn peek_is(&self, kw: &str) -> bool {
        self.tokens
            .get(self.pos)
            .is_some_and(|t| t.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and()?];
        while self.peek_is("or") {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.swap_remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.not()?];
        while self.peek_is("and") {
            self.pos += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.swap_remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_is("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err("condition ends too early".into());
        };
        self.pos += 1;
        match tok.to_ascii_lowercase().as_str() {
            "(" => {
                let e = self.or()?;
                if !self.peek_is(")") {
                    return Err("missing `)` in condition".into());
                }
                self.pos += 1;
                Ok(e)
            }
            ")" | "and" | "or" | "of" => Err(format!("unexpected `{tok}` in condition")),
            q @ ("1" | "any" | "all") if self.peek_is("of") => {
                let all = q == "all";
                self.pos += 1;
                let Some(target) = self.tokens.get(self.pos).cloned() else {
                    return Err(format!("`{q} of` needs a selection pattern"));
                };
                self.pos += 1;
                let picked: Vec<Expr> = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| target.eq_ignore_ascii_case("them") || glob(&target, n))
                    .map(|(i, _)| Expr::Sel(i))
                    .collect();
                if picked.is_empty() {
                    return Err(format!("`{q} of {target}` matches no selection"));
                }
                Ok(if all {
                    Expr::And(picked)
                } else {
                    Expr::Or(picked)
                })
            }
            _ => match self.names.iter().position(|n| *n == tok) {
                Some(i) => Ok(Expr::Sel(i)),
                None => Err(format!("condition names unknown selection `{tok}`")),
            },
        }
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = rest.get(i + m.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["sel_a", "sel_b", "filter", "keywords"];

    fn eval(cond: &str, truth: [bool; 4]) -> bool {
        let e = parse(cond, NAMES).expect("valid condition");
        e.eval(&mut |i| truth[i])
    }

    #[test]
    fn precedence_and_parentheses() {
        assert!(eval(
            "sel_a or sel_b and filter",
            [true, false, false, false]
        ));
        assert!(!eval(
            "(sel_a or sel_b) and filter",
            [true, false, false, false]
        ));
        assert!(eval("sel_a and not filter", [true, false, false, false]));
        assert!(!eval("not sel_a or filter", [true, false, false, false]));
        assert!(eval("NOT (sel_a AND filter)", [true, false, false, false]));
    }

    #[test]
    fn quantifiers() {
        assert!(eval("1 of sel*", [false, true, false, false]));
        assert!(!eval("all of sel*", [false, true, false, false]));
        assert!(eval(
            "all of sel_* and not filter",
            [true, true, false, false]
        ));
        assert!(eval("1 of them", [false, false, false, true]));
        assert!(!eval("all of them", [true, true, true, false]));
        assert!(eval("any of *words", [false, false, false, true]));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse("sel_c", NAMES).is_err_and(|e| e.contains("sel_c")));
        assert!(parse("1 of nothing*", NAMES).is_err());
        assert!(parse("(sel_a", NAMES).is_err());
        assert!(parse("sel_a and", NAMES).is_err());
        assert!(parse("sel_a sel_b", NAMES).is_err());
        assert!(parse("", NAMES).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("sel*", "sel_a"));
        assert!(glob("*_a", "sel_a"));
        assert!(glob("s*l*a", "sel_a"));
        assert!(!glob("sel", "sel_a"));
        assert!(glob("sel_a", "sel_a"));
    }
}
