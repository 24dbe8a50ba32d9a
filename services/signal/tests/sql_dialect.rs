//! Signal's SQL stays within what SQLite, PostgreSQL and the
//! PostgreSQL-compatible domestic databases openGauss and KingbaseES all
//! accept (docs/database-compatibility.md). Reads every migration and every
//! SQL string literal in `src/`, so it needs no database, and fails naming the
//! file, the statement and the rule it breaks.

use std::path::{Path, PathBuf};

/// One construct outside the common dialect.
struct Rule {
    /// Short name, as in docs/database-compatibility.md.
    name: &'static str,
    /// Token sequences (upper-cased words, operators, punctuation) any of
    /// which breaks the rule; see [`tokens`].
    forbidden: &'static [&'static str],
    /// Why, and what to write instead.
    instead: &'static str,
}

/// The rules of docs/database-compatibility.md that a reading of the SQL
/// text can check.
const RULES: &[Rule] = &[
    Rule {
        name: "upsert",
        forbidden: &[
            "ON CONFLICT",
            "ON DUPLICATE KEY",
            "INSERT OR",
            "REPLACE INTO",
            "MERGE INTO",
        ],
        instead: "openGauss documents INSERT ... ON DUPLICATE KEY UPDATE (not PostgreSQL) rather than ON CONFLICT, and SQLite has no MERGE: UPDATE, and INSERT when it changed no row (in a transaction that locks, or retrying on a unique violation)",
    },
    Rule {
        name: "generated keys",
        forbidden: &[
            "GENERATED",
            "IDENTITY",
            "SERIAL",
            "BIGSERIAL",
            "AUTOINCREMENT",
            "AUTO_INCREMENT",
        ],
        instead: "openGauss has no identity columns and SQLite no SERIAL: ids are TEXT made in Rust (uuid)",
    },
    Rule {
        name: "uuid functions",
        forbidden: &["GEN_RANDOM_UUID", "UUID_GENERATE_V4", "UUID"],
        instead: "ids are generated in Rust and stored as TEXT",
    },
    Rule {
        name: "JSON in SQL",
        forbidden: &[
            "JSON", "JSONB", "->", "->>", "#>", "#>>", "@>", "<@", "?|", "?&",
        ],
        instead: "JSON is kept as TEXT and read with serde in Rust; SQLite has no JSONB and the domestic databases' JSON operators differ by version",
    },
    Rule {
        name: "arrays",
        forbidden: &["ARRAY", "[", "]", "ANY (", "ALL ("],
        instead: "SQLite has no arrays: bind one placeholder per value (`IN ($2, $3, ...)`) or use a join table",
    },
    Rule {
        name: "casts with ::",
        forbidden: &["::"],
        instead: "SQLite has no `::`: use CAST(x AS type), or convert in Rust",
    },
    Rule {
        name: "time types",
        forbidden: &[
            "TIMESTAMPTZ",
            "TIMESTAMP",
            "INTERVAL",
            "NOW (",
            "CURRENT_TIMESTAMP",
            "CURRENT_DATE",
            "DATE",
        ],
        instead: "instants are BIGINT Unix seconds from store::now() (openGauss's Oracle mode makes DATE a timestamp, SQLite has no time types)",
    },
    Rule {
        name: "booleans",
        forbidden: &["BOOLEAN", "BOOL", "TRUE", "FALSE"],
        instead: "flags are BIGINT 0/1, which every database reads the same",
    },
    Rule {
        name: "PostgreSQL 9.4+ and 12+ query forms",
        forbidden: &[
            "MATERIALIZED",
            "FILTER (",
            "LATERAL",
            "GROUPING SETS",
            "WITHIN GROUP",
        ],
        instead: "openGauss descends from PostgreSQL 9.2: use CASE inside the aggregate instead of FILTER, plain WITH or a subquery",
    },
    Rule {
        name: "DISTINCT ON and ILIKE",
        forbidden: &["DISTINCT ON", "ILIKE", "SIMILAR TO"],
        instead: "SQLite has neither: GROUP BY or a subquery; LOWER(x) LIKE LOWER($n)",
    },
    Rule {
        name: "concurrent and conditional DDL",
        forbidden: &["CONCURRENTLY", "IF NOT EXISTS"],
        instead: "migrations run once, in a transaction (which CREATE INDEX CONCURRENTLY refuses on PostgreSQL and openGauss), and openGauss's CREATE INDEX and ADD COLUMN take no IF NOT EXISTS",
    },
    Rule {
        name: "empty string literal",
        forbidden: &["''"],
        instead: "openGauss (DBCOMPATIBILITY 'A', its default) and KingbaseES (ora_input_emptystr_isnull) read '' as NULL: compare with NULL, or leave the value out",
    },
    Rule {
        name: "backslash in literals",
        forbidden: &["\\"],
        instead: "a backslash in a literal depends on standard_conforming_strings: use another escape character (LIKE ... ESCAPE '!')",
    },
];

/// The SQL as tokens, upper-cased and joined by single spaces with a space at
/// each end, so that rules match whole tokens: `" ON CONFLICT "`. Quoted
/// strings become `'…'` (only the empty one stays `''`), quoted identifiers
/// `"…"`, and `--` comments are dropped.
fn tokens(sql: &str) -> String {
    const OPERATOR: &str = ":-><@#&|!~=+*/%^?";
    let mut out = vec![String::new()];
    let mut chars = sql.chars().peekable();
    let push = |out: &mut Vec<String>, token: String| {
        if !token.is_empty() {
            out.push(token);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') | None => break,
                        Some(c) => text.push(c),
                    }
                }
                let quoted = if text.is_empty() {
                    "''".to_string()
                } else if text.contains('\\') {
                    "'\\'".to_string()
                } else {
                    "'…'".to_string()
                };
                push(&mut out, quoted);
            }
            '"' => {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                }
                push(&mut out, "\"…\"".into());
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut word = c.to_uppercase().to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        word.extend(next.to_uppercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                push(&mut out, word);
            }
            c if OPERATOR.contains(c) => {
                let mut op = c.to_string();
                while let Some(&next) = chars.peek() {
                    if OPERATOR.contains(next)
                        && !(next == '-' && chars.clone().nth(1) == Some('-'))
                    {
                        op.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                push(&mut out, op);
            }
            c if c.is_whitespace() => {}
            c => push(&mut out, c.to_string()),
        }
    }
    out.push(String::new());
    out.join(" ")
}

/// The rules a piece of SQL breaks, with the construct found.
fn violations(sql: &str) -> Vec<(&'static Rule, &'static str)> {
    let text = tokens(sql);
    RULES
        .iter()
        .flat_map(|rule| {
            rule.forbidden
                .iter()
                .filter(|construct| {
                    // `tokens` marks a literal holding a backslash `'\'`.
                    let needle = match **construct {
                        "\\" => " '\\' ".to_string(),
                        c => format!(" {} ", tokens(c).trim()),
                    };
                    text.contains(&needle)
                })
                .map(move |construct| (rule, *construct))
        })
        .collect()
}

/// A statement or fragment of SQL and where it is.
struct Sql {
    place: String,
    text: String,
}

fn signal_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every migration file, whole.
fn migrations() -> Vec<Sql> {
    let dir = signal_dir().join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "the migrations are in {}", dir.display());
    files
        .into_iter()
        .map(|path| Sql {
            place: path.display().to_string(),
            text: std::fs::read_to_string(&path).unwrap(),
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The string literals of Rust source with their line numbers: `"…"` (with
/// `\` line continuations and escapes resolved), `r"…"` and `r#"…"#`;
/// comments, character literals and lifetimes are skipped.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = source.chars().collect();
    let mut literals = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                // '\n', '\'', 'x' or a lifetime.
                if chars.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            'r' if (chars.get(i + 1) == Some(&'"') || chars.get(i + 1) == Some(&'#'))
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let start = line;
                let mut text = String::new();
                j += 1;
                while let Some(&c) = chars.get(j) {
                    if c == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    line += usize::from(c == '\n');
                    text.push(c);
                    j += 1;
                }
                literals.push((start, text));
                i = j;
            }
            '"' => {
                let start = line;
                let mut text = String::new();
                let mut j = i + 1;
                while let Some(&c) = chars.get(j) {
                    match c {
                        '"' => break,
                        '\\' => {
                            let next = chars.get(j + 1).copied().unwrap_or(' ');
                            match next {
                                '\n' => {
                                    // Line continuation: the newline and the
                                    // next line's leading spaces go.
                                    line += 1;
                                    j += 2;
                                    while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                                        line += usize::from(chars[j] == '\n');
                                        j += 1;
                                    }
                                    continue;
                                }
                                'n' => text.push('\n'),
                                't' => text.push('\t'),
                                other => text.push(other),
                            }
                            j += 2;
                        }
                        c => {
                            line += usize::from(c == '\n');
                            text.push(c);
                            j += 1;
                        }
                    }
                }
                literals.push((start, text));
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    literals
}

/// Whether a string literal is SQL (or a fragment of it): it holds an SQL
/// keyword in capitals, as all of signal's SQL is written.
fn is_sql(literal: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "WHERE", "VALUES", "CREATE", "ALTER",
        "PRAGMA", "WITH", "JOIN", "SET",
    ];
    literal
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| KEYWORDS.contains(&word))
}

/// Every SQL string literal in signal's source.
fn source_sql() -> Vec<Sql> {
    rust_files(&signal_dir().join("src"))
        .into_iter()
        .flat_map(|path| {
            let source = std::fs::read_to_string(&path).unwrap();
            string_literals(&source)
                .into_iter()
                .filter(|(_, text)| is_sql(text))
                .map(move |(line, text)| Sql {
                    place: format!("{}:{line}", path.display()),
                    text,
                })
        })
        .collect()
}

fn report(found: &[(String, &Rule, &str)]) -> String {
    found
        .iter()
        .map(|(place, rule, construct)| {
            format!("{place}: `{construct}` ({}): {}", rule.name, rule.instead)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn signal_sql_stays_within_what_opengauss_and_kingbasees_accept() {
    let sql: Vec<Sql> = migrations().into_iter().chain(source_sql()).collect();
    // The scan must see the SQL it is meant to check.
    for expected in [
        "CREATE TABLE accounts",
        "SELECT id, display_name, department, email FROM accounts",
        "INSERT INTO tenants (id, name, features, created_at) VALUES ($1, $2, $3, $4)",
        " WHERE number = $1 AND status <> 'ended'",
    ] {
        assert!(
            sql.iter().any(|s| s.text.contains(expected)),
            "the scan found no SQL containing {expected:?}"
        );
    }
    assert!(sql.len() > 80, "only {} pieces of SQL found", sql.len());
    for path in rust_files(&signal_dir().join("src")) {
        let source = std::fs::read_to_string(&path).unwrap();
        let calls = source.matches("sqlx::query").count();
        let scanned = sql
            .iter()
            .filter(|s| s.place.starts_with(&format!("{}:", path.display())))
            .count();
        assert!(
            scanned >= calls.min(1),
            "{} runs SQL, and the scan found none of it",
            path.display()
        );
    }
    let found: Vec<(String, &Rule, &str)> = sql
        .iter()
        .flat_map(|s| {
            violations(&s.text)
                .into_iter()
                .map(|(rule, construct)| (s.place.clone(), rule, construct))
        })
        .collect();
    assert!(
        found.is_empty(),
        "SQL outside the common dialect (docs/database-compatibility.md):\n{}",
        report(&found)
    );
}

#[test]
fn the_check_catches_constructs_outside_the_rules() {
    let cases = [
        (
            "INSERT INTO t (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = excluded.n",
            "upsert",
        ),
        (
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE n = 2",
            "upsert",
        ),
        (
            "CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)",
            "generated keys",
        ),
        (
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY)",
            "generated keys",
        ),
        (
            "INSERT INTO t (id) VALUES (gen_random_uuid())",
            "uuid functions",
        ),
        ("SELECT options ->> 'mute' FROM meetings", "JSON in SQL"),
        ("ALTER TABLE t ADD COLUMN doc JSONB", "JSON in SQL"),
        ("SELECT id FROM t WHERE id = ANY ($1)", "arrays"),
        ("SELECT $1::text", "casts with ::"),
        (
            "ALTER TABLE t ADD COLUMN at TIMESTAMPTZ NOT NULL DEFAULT now()",
            "time types",
        ),
        (
            "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x",
            "PostgreSQL 9.4+ and 12+ query forms",
        ),
        (
            "SELECT COUNT(*) FILTER (WHERE status = 'ended') FROM meetings",
            "PostgreSQL 9.4+ and 12+ query forms",
        ),
        (
            "SELECT DISTINCT ON (tenant_id) id FROM meetings",
            "DISTINCT ON and ILIKE",
        ),
        (
            "SELECT id FROM accounts WHERE email ILIKE $1",
            "DISTINCT ON and ILIKE",
        ),
        (
            "CREATE INDEX CONCURRENTLY m ON meetings (number)",
            "concurrent and conditional DDL",
        ),
        (
            "CREATE INDEX IF NOT EXISTS m ON meetings (number)",
            "concurrent and conditional DDL",
        ),
        (
            "SELECT COALESCE(email, '') FROM accounts",
            "empty string literal",
        ),
        (
            "SELECT id FROM accounts WHERE name LIKE $1 ESCAPE '\\'",
            "backslash in literals",
        ),
        (
            "ALTER TABLE t ADD COLUMN on_air BOOLEAN NOT NULL DEFAULT FALSE",
            "booleans",
        ),
    ];
    for (sql, rule) in cases {
        let found = violations(sql);
        assert!(
            found.iter().any(|(r, _)| r.name == rule),
            "{sql:?} should break {rule:?}; found {:?}",
            found.iter().map(|(r, c)| (r.name, *c)).collect::<Vec<_>>()
        );
    }

    // What signal does write passes: quoted values and comments are not
    // searched, and words only match whole.
    for sql in [
        "SELECT id, display_name FROM accounts WHERE tenant_id = $1 AND status = 'active' \
         AND (LOWER(display_name) LIKE $2 ESCAPE '!' OR LOWER(email) LIKE $2 ESCAPE '!') \
         ORDER BY LOWER(display_name), id LIMIT $3",
        "-- JSON kept as TEXT, times as BIGINT\nALTER TABLE tenants ADD COLUMN domains TEXT NOT NULL DEFAULT '[]'",
        "CREATE UNIQUE INDEX meetings_open_number ON meetings (number) WHERE status <> 'ended'",
        "UPDATE meetings SET status = $1, started_at = COALESCE(started_at, $2) WHERE id = $3",
        "SELECT id FROM accounts WHERE tenant_id = $1 AND id IN ($2, $3)",
        "ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '[\"profile\",\"meetings_read\"]'",
        "SELECT updated_at, dated, identity_card FROM t",
    ] {
        let found = violations(sql);
        assert!(
            found.is_empty(),
            "{sql:?} is within the rules; found {:?}",
            found.iter().map(|(r, c)| (r.name, *c)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_scan_reads_rust_string_literals() {
    let source = r####"
        // "SELECT in a comment" is not code
        let a = sqlx::query("SELECT id FROM t WHERE x = 'y'");
        let b = "UPDATE t SET \
                 n = 1";
        let c = r#"DELETE FROM t WHERE n = "q""#;
        let d = '"'; let e: &'static str = "SET x";
        /* "INSERT INTO hidden" */
    "####;
    let literals: Vec<String> = string_literals(source)
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(
        literals,
        [
            "SELECT id FROM t WHERE x = 'y'",
            "UPDATE t SET n = 1",
            "DELETE FROM t WHERE n = \"q\"",
            "SET x",
        ]
    );
    assert!(is_sql("{SELECT} WHERE id = $1"));
    assert!(!is_sql("the meeting is locked; select another"));
}
