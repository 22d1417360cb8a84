//! How the CLI prints what the gateway answers, for people (text, tables) and
//! for scripts (`--output json`).

use serde_json::Value;

/// `TASK_STATE_INPUT_REQUIRED` -> `input-required`.
pub fn state_label(state: &str) -> String {
    state
        .strip_prefix("TASK_STATE_")
        .unwrap_or(state)
        .to_lowercase()
        .replace('_', "-")
}

/// The state of a Task or status update.
pub fn state_of(v: &Value) -> Option<&str> {
    v.get("status")?.get("state")?.as_str()
}

/// The text parts of a list of parts, joined.
pub fn parts_text(parts: Option<&Value>) -> String {
    let mut out = Vec::new();
    for p in parts.and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            out.push(t.to_owned());
        } else if let Some(d) = p.get("data") {
            out.push(d.to_string());
        } else if let Some(u) = p.get("url").and_then(Value::as_str) {
            out.push(u.to_owned());
        } else if p.get("raw").is_some() {
            let name = p.get("filename").and_then(Value::as_str).unwrap_or("file");
            out.push(format!("[{name}: binary]"));
        }
    }
    out.join("")
}

/// What a finished task has to say: its artifacts' text, else its status message.
pub fn task_text(task: &Value) -> String {
    let artifacts: Vec<String> = task
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| parts_text(a.get("parts")))
        .filter(|t| !t.is_empty())
        .collect();
    if !artifacts.is_empty() {
        return artifacts.join("\n");
    }
    task.get("status")
        .and_then(|s| s.get("message"))
        .map(|m| parts_text(m.get("parts")))
        .unwrap_or_default()
}

/// One line per stream item, for `--stream` and `tasks subscribe`.
pub fn event_line(item: &Value) -> Option<String> {
    if let Some(task) = item.get("task") {
        let id = task.get("id").and_then(Value::as_str).unwrap_or("?");
        let state = state_of(task).map(state_label).unwrap_or_default();
        return Some(format!("[task {id}] {state}"));
    }
    if let Some(m) = item.get("message") {
        return Some(parts_text(m.get("parts")));
    }
    if let Some(ev) = item.get("statusUpdate") {
        let state = state_of(ev).map(state_label).unwrap_or_default();
        let text = ev
            .get("status")
            .and_then(|s| s.get("message"))
            .map(|m| parts_text(m.get("parts")))
            .unwrap_or_default();
        return Some(if text.is_empty() {
            format!("[{state}]")
        } else {
            format!("[{state}] {text}")
        });
    }
    if let Some(ev) = item.get("artifactUpdate") {
        let a = ev.get("artifact")?;
        let name = a
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| a.get("artifactId").and_then(Value::as_str))
            .unwrap_or("artifact");
        let text = parts_text(a.get("parts"));
        return Some(format!("[artifact {name}] {}", text.trim_end()));
    }
    None
}

/// A plain-text table: a header row and left-aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i + 1 == cells.len() {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_text() {
        assert_eq!(state_label("TASK_STATE_INPUT_REQUIRED"), "input-required");
        let task = json!({"status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"parts": [{"text": "a"}, {"text": "b"}]}, {"parts": [{"data": {"k": 1}}]}]});
        assert_eq!(task_text(&task), "ab\n{\"k\":1}");
        let asking = json!({"status": {"state": "TASK_STATE_INPUT_REQUIRED", "message": {"parts": [{"text": "which?"}]}}});
        assert_eq!(task_text(&asking), "which?");
    }

    #[test]
    fn event_lines() {
        assert_eq!(
            event_line(&json!({"statusUpdate": {"status": {"state": "TASK_STATE_WORKING", "message": {"parts": [{"text": "50%"}]}}}})).unwrap(),
            "[working] 50%"
        );
        assert_eq!(
            event_line(&json!({"artifactUpdate": {"artifact": {"name": "report", "parts": [{"text": "ok\n"}]}}})).unwrap(),
            "[artifact report] ok"
        );
        assert_eq!(
            event_line(&json!({"task": {"id": "t", "status": {"state": "TASK_STATE_SUBMITTED"}}}))
                .unwrap(),
            "[task t] submitted"
        );
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "BB"],
            &[vec!["xxx".into(), "y".into()], vec!["z".into(), "w".into()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\nz    w");
    }
}
