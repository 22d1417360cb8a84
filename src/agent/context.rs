//! What a handler sees of the task it works on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::store::TaskStore;
use crate::a2a::types::{Artifact, Message, Part, Task, TaskState, TaskStatus};

/// Error a handler returns; its text becomes the FAILED status message.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// The one thing an agent developer writes: work on a task until it is done.
///
/// Any `Fn(TaskContext) -> impl Future<Output = Result<(), HandlerError>>` is a
/// handler. Returning `Ok(())` completes the task (unless the handler already set
/// a final or interrupted state); returning `Err` fails it with the error's text.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, ctx: TaskContext) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn handle(&self, ctx: TaskContext) -> HandlerFuture {
        Box::pin(self(ctx))
    }
}

/// A handle on one task for its handler. Cheap to clone; every update is
/// recorded in the agent's task store and streamed to whoever watches the task.
#[derive(Clone)]
pub struct TaskContext {
    inner: Arc<Inner>,
}

struct Inner {
    task_id: String,
    context_id: String,
    message: Message,
    store: Arc<TaskStore>,
    cancel: CancellationToken,
}

impl TaskContext {
    pub(crate) fn new(
        task_id: String,
        context_id: String,
        message: Message,
        store: Arc<TaskStore>,
        cancel: CancellationToken,
    ) -> TaskContext {
        TaskContext {
            inner: Arc::new(Inner {
                task_id,
                context_id,
                message,
                store,
                cancel,
            }),
        }
    }

    /// The task id (minted by the requester, per the profile).
    pub fn task_id(&self) -> &str {
        &self.inner.task_id
    }

    /// The conversation this task belongs to.
    pub fn context_id(&self) -> &str {
        &self.inner.context_id
    }

    /// The message that started (or, after an input request, continued) the task.
    pub fn message(&self) -> &Message {
        &self.inner.message
    }

    /// The text parts of [`TaskContext::message`], joined by newlines.
    pub fn text(&self) -> String {
        self.inner.message.text()
    }

    /// The task as stored now.
    pub fn task(&self) -> Option<Task> {
        self.inner.store.get(&self.inner.task_id)
    }

    /// Sets the task's status. Returns false once the task is final (for
    /// instance after a cancel), so a loop can stop.
    pub fn set_status(&self, state: TaskState, message: Option<Message>) -> bool {
        let message = message.map(|m| self.own(m));
        self.inner
            .store
            .set_status(&self.inner.task_id, TaskStatus::now(state, message))
    }

    /// A WORKING status with a progress text.
    pub fn progress(&self, text: impl Into<String>) -> bool {
        self.set_status(TaskState::Working, Some(Message::agent_text(text)))
    }

    /// Asks the client for more input: the task pauses in INPUT_REQUIRED and the
    /// next message with this task id runs the handler again. Return after this.
    pub fn require_input(&self, question: impl Into<String>) -> bool {
        self.set_status(
            TaskState::InputRequired,
            Some(Message::agent_text(question)),
        )
    }

    /// Adds an artifact, or extends the one with the same id when `append`.
    pub fn artifact(&self, artifact: Artifact, append: bool, last_chunk: bool) -> bool {
        self.inner
            .store
            .add_artifact(&self.inner.task_id, artifact, append, last_chunk)
    }

    /// Adds a one-part text artifact named `name`; returns its id.
    pub fn artifact_text(&self, name: impl Into<String>, text: impl Into<String>) -> String {
        let artifact_id = uuid::Uuid::new_v4().to_string();
        self.artifact(
            Artifact {
                artifact_id: artifact_id.clone(),
                name: Some(name.into()),
                description: None,
                parts: vec![Part::text(text)],
                metadata: None,
                extensions: Vec::new(),
            },
            false,
            true,
        );
        artifact_id
    }

    /// Whether the client cancelled the task.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Resolves when the client cancels the task; `select!` on it in long work.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// Agent messages carry the task's ids.
    fn own(&self, mut m: Message) -> Message {
        m.task_id.get_or_insert_with(|| self.inner.task_id.clone());
        m.context_id
            .get_or_insert_with(|| self.inner.context_id.clone());
        m
    }
}
