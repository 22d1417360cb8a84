//! Sample agents, used by the examples, the demo and the tests.

use std::time::Duration;

use super::{CardBuilder, HandlerError, HandlerFuture, TaskContext};
use crate::a2a::types::{Artifact, Part};

/// Repeats the text it gets, as an artifact. A message starting with `/ask`
/// first asks a question (INPUT_REQUIRED); the answer completes the task.
pub async fn echo(task: TaskContext) -> Result<(), HandlerError> {
    let text = task.text();
    if text.starts_with("/ask")
        && task
            .task()
            .is_some_and(|t| t.history.is_some_and(|h| h.len() == 1))
    {
        task.require_input("What should I echo?");
        return Ok(());
    }
    task.artifact_text("echo", text);
    Ok(())
}

/// Card of [`echo`].
pub fn echo_card() -> CardBuilder {
    CardBuilder::new(
        "Echo",
        "Repeats the text it is sent; '/ask' makes it ask first",
    )
    .skill(
        "echo",
        "Echo",
        "Returns the input text as an artifact",
        &["demo", "text"],
    )
}

/// A long-running quality inspection: walks through `steps` stations, one every
/// `step_delay`, streaming a progress status and a report line per station, and
/// stops at once when cancelled.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub steps: u32,
    pub step_delay: Duration,
}

impl Default for Inspection {
    /// Ten stations, three seconds each: half a minute.
    fn default() -> Self {
        Inspection {
            steps: 10,
            step_delay: Duration::from_secs(3),
        }
    }
}

impl super::Handler for Inspection {
    fn handle(&self, task: TaskContext) -> HandlerFuture {
        let this = self.clone();
        Box::pin(async move { this.run(task).await })
    }
}

impl Inspection {
    async fn run(&self, task: TaskContext) -> Result<(), HandlerError> {
        let subject = match task.text().trim() {
            "" => "line 1".to_owned(),
            s => s.to_owned(),
        };
        let report_id = format!("report-{}", task.task_id());
        for step in 1..=self.steps {
            tokio::select! {
                _ = task.cancelled() => return Ok(()),
                _ = tokio::time::sleep(self.step_delay) => {}
            }
            let percent = step * 100 / self.steps.max(1);
            if !task.progress(format!(
                "inspecting {subject}: station {step}/{} ({percent}%)",
                self.steps
            )) {
                return Ok(()); // final already (cancelled meanwhile)
            }
            task.artifact(
                Artifact {
                    artifact_id: report_id.clone(),
                    name: Some("inspection report".into()),
                    description: None,
                    parts: vec![Part::text(format!("station {step}: ok\n"))],
                    metadata: None,
                    extensions: Vec::new(),
                },
                step > 1,
                step == self.steps,
            );
        }
        Ok(())
    }
}

/// Card of [`Inspection`].
pub fn inspection_card() -> CardBuilder {
    CardBuilder::new(
        "Inspection",
        "Runs a station-by-station quality inspection, streaming progress; can be cancelled",
    )
    .skill(
        "inspect",
        "Inspect a line",
        "Inspects each station of a production line and reports",
        &["quality", "long-running"],
    )
}
