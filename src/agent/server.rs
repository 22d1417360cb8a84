//! The responder side of the profile: take requests from the agent's request
//! topic, answer on their Response Topic with their Correlation Data echoed
//! byte for byte.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::context::{Handler, TaskContext};
use super::store::{Admission, StoreError, Subscription, TaskStore, apply_history_length};
use crate::a2a::Method;
use crate::a2a::error::{JsonRpcError, ProfileError, codes};
use crate::a2a::jsonrpc::{self, RequestId};
use crate::a2a::types::{
    GetTaskRequest, ListTasksRequest, SendMessageRequest, StreamResponse, Task, TaskIdRequest,
    TaskState, TaskStatus, TaskStatusUpdateEvent,
};
use crate::mqtt::{
    Inbound, OutgoingMessage, Publish, PublishProperties, SessionHandle, user_property,
};

/// Limits and timings of an agent.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Handlers running at once; beyond, new tasks get `responder_unavailable`.
    pub max_concurrent_tasks: usize,
    /// Replies streaming or waiting at once (streams, subscriptions, blocking
    /// sends); beyond, such requests get `responder_unavailable`.
    pub max_open_streams: usize,
    /// How long a cancelled handler may take to stop before it is aborted.
    pub cancel_grace: Duration,
    /// How long a reply may wait for room in the outgoing queue.
    pub publish_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_concurrent_tasks: 64,
            max_open_streams: 1024,
            cancel_grace: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(5),
        }
    }
}

/// Hands request publishes from the owner task to the server's queue.
pub(crate) struct AgentInbound {
    pub(crate) queue: mpsc::Sender<Publish>,
    pub(crate) session: Arc<OnceLock<SessionHandle>>,
}

impl Inbound for AgentInbound {
    fn on_publish(&self, publish: &Publish) {
        if let Err(mpsc::error::TrySendError::Full(p)) = self.queue.try_send(publish.clone()) {
            // Overloaded: say so at once (retry-eligible for the requester).
            if let Some(session) = self.session.get() {
                let replier = Replier::from_publish(session.clone(), &p, Duration::ZERO);
                if let Some(replier) = replier {
                    let error = JsonRpcError::profile(
                        ProfileError::ResponderUnavailable,
                        "the agent's request queue is full; retry later",
                    );
                    let _ =
                        session.try_publish(replier.message(jsonrpc::failure(&replier.id, &error)));
                }
            }
        }
    }
}

/// Answers one request.
struct Replier {
    session: SessionHandle,
    topic: String,
    correlation: Bytes,
    id: RequestId,
    timeout: Duration,
}

impl Replier {
    /// `None` when the request has no Response Topic: there is nowhere to answer.
    fn from_publish(
        session: SessionHandle,
        publish: &Publish,
        timeout: Duration,
    ) -> Option<Replier> {
        let props = publish.properties.as_ref()?;
        let topic = props.response_topic.clone()?;
        let id = jsonrpc::parse_request(&publish.payload)
            .map(|r| r.id)
            .unwrap_or_else(|e| e.id);
        Some(Replier {
            session,
            topic,
            correlation: props.correlation_data.clone().unwrap_or_default(),
            id,
            timeout,
        })
    }

    fn message(&self, body: String) -> OutgoingMessage {
        OutgoingMessage {
            properties: PublishProperties {
                correlation_data: Some(self.correlation.clone()),
                content_type: Some("application/json".into()),
                ..PublishProperties::default()
            },
            ..OutgoingMessage::new(self.topic.clone(), body)
        }
    }

    async fn send(&self, body: String) {
        if let Err(e) = self.session.publish(self.message(body), self.timeout).await {
            tracing::warn!(topic = %self.topic, error = %e, "could not publish a reply");
        }
    }

    async fn result(&self, result: &Value) {
        self.send(jsonrpc::success(&self.id, &result.to_string()))
            .await;
    }

    async fn error(&self, error: JsonRpcError) {
        self.send(jsonrpc::failure(&self.id, &error)).await;
    }
}

fn invalid_params(message: impl Into<String>) -> JsonRpcError {
    JsonRpcError::new(codes::INVALID_PARAMS, message)
}

fn task_not_found(id: &str) -> JsonRpcError {
    JsonRpcError::new(codes::TASK_NOT_FOUND, format!("task {id} not found"))
}

fn unavailable(message: impl Into<String>) -> JsonRpcError {
    JsonRpcError::profile(ProfileError::ResponderUnavailable, message)
}

fn parse<T: DeserializeOwned>(
    method: Method,
    params: Option<&serde_json::value::RawValue>,
) -> Result<T, JsonRpcError> {
    let text = params.map_or("{}", |p| p.get());
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        invalid_params(format!("invalid {method} params{at}: {}", e.inner()))
    })
}

/// The request-serving half of an agent.
pub(crate) struct Server {
    pub(crate) session: SessionHandle,
    pub(crate) store: Arc<TaskStore>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: ServerLimits,
    pub(crate) task_permits: Arc<Semaphore>,
    pub(crate) stream_permits: Arc<Semaphore>,
    pub(crate) stop: CancellationToken,
}

impl Server {
    /// Serves requests until the queue closes or `stop` fires.
    pub(crate) async fn run(self: Arc<Self>, mut queue: mpsc::Receiver<Publish>) {
        loop {
            let publish = tokio::select! {
                _ = self.stop.cancelled() => return,
                p = queue.recv() => match p { Some(p) => p, None => return },
            };
            let server = self.clone();
            tokio::spawn(async move { server.serve(publish).await });
        }
    }

    async fn serve(self: Arc<Self>, publish: Publish) {
        let Some(replier) =
            Replier::from_publish(self.session.clone(), &publish, self.limits.publish_timeout)
        else {
            tracing::warn!("request without Response Topic dropped: there is nowhere to answer");
            return;
        };
        let props = publish.properties.as_ref();
        if props.and_then(|p| p.correlation_data.as_ref()).is_none() {
            replier
                .error(JsonRpcError::profile(
                    ProfileError::TransportProtocolError,
                    "the request has no MQTT Correlation Data",
                ))
                .await;
            return;
        }
        if let Some(profile) = user_property(props, "a2a-security-profile") {
            replier
                .error(JsonRpcError::profile(
                    ProfileError::TransportProtocolError,
                    format!("security profile {profile:?} is not supported by this agent"),
                ))
                .await;
            return;
        }
        let request = match jsonrpc::parse_request(&publish.payload) {
            Ok(r) => r,
            Err(e) => return replier.error(e.error).await,
        };
        let Some(method) = Method::from_name(&request.method) else {
            let shown: String = request.method.chars().take(64).collect();
            return replier
                .error(JsonRpcError::new(
                    codes::METHOD_NOT_FOUND,
                    format!("method {shown:?} not found"),
                ))
                .await;
        };
        let outcome = match method {
            Method::SendMessage | Method::SendStreamingMessage => {
                self.send_message(&replier, method, request.params).await
            }
            Method::GetTask => self.get_task(&replier, request.params).await,
            Method::ListTasks => self.list_tasks(&replier, request.params).await,
            Method::CancelTask => self.cancel_task(&replier, request.params).await,
            Method::SubscribeToTask => self.subscribe(&replier, request.params).await,
            Method::GetExtendedAgentCard => Err(JsonRpcError::new(
                codes::UNSUPPORTED_OPERATION,
                "this agent has no extended agent card",
            )),
            Method::CreateTaskPushNotificationConfig
            | Method::GetTaskPushNotificationConfig
            | Method::ListTaskPushNotificationConfigs
            | Method::DeleteTaskPushNotificationConfig => Err(JsonRpcError::new(
                codes::PUSH_NOTIFICATION_NOT_SUPPORTED,
                "push notifications are not supported",
            )),
        };
        if let Err(e) = outcome {
            replier.error(e).await;
        }
    }

    async fn send_message(
        &self,
        replier: &Replier,
        method: Method,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), JsonRpcError> {
        let request: SendMessageRequest = parse(method, params)?;
        let message = request.message;
        let task_id = message
            .task_id
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                invalid_params(
                    "message.taskId is required: over MQTT the requester mints Task.id (a UUID)",
                )
            })?;
        if uuid::Uuid::parse_str(&task_id).is_err() {
            return Err(invalid_params(format!(
                "message.taskId {task_id:?} is not a UUID"
            )));
        }
        if message.parts.is_empty() {
            return Err(invalid_params(
                "message.parts must contain at least one part",
            ));
        }
        let config = request.configuration.unwrap_or_default();
        let streaming = method == Method::SendStreamingMessage;
        // Reserve the reply slot before any work starts, so an overloaded agent
        // refuses cleanly instead of starting work it cannot report on.
        let stream_permit = if streaming || !config.return_immediately {
            Some(
                self.stream_permits
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| unavailable("the agent has too many open streams; retry later"))?,
            )
        } else {
            None
        };
        // One step under the store's lock: two simultaneous copies of this
        // request (a retry racing a slow first attempt) find each other.
        let admission = self
            .store
            .admit(&task_id, &message, || self.task_permit())?;
        let subscription = match admission {
            Admission::ContextMismatch { stored } => {
                return Err(invalid_params(format!(
                    "message.contextId differs from the context {stored:?} of task {task_id}"
                )));
            }
            Admission::Retry(subscription) => subscription,
            Admission::Final(state) => {
                return Err(JsonRpcError::new(
                    codes::UNSUPPORTED_OPERATION,
                    format!(
                        "task {task_id} is {} and takes no more messages",
                        state.as_str()
                    ),
                ));
            }
            Admission::Running(state) => {
                return Err(JsonRpcError::new(
                    codes::UNSUPPORTED_OPERATION,
                    format!(
                        "task {task_id} is still running ({}); it takes a new message only when it asks for input",
                        state.as_str()
                    ),
                ));
            }
            Admission::Full(capacity) => {
                return Err(unavailable(StoreError::Full(capacity).to_string()));
            }
            Admission::Created {
                subscription,
                cancel,
                context_id,
                reserved,
            }
            | Admission::Resumed {
                subscription,
                cancel,
                context_id,
                reserved,
            } => {
                let ctx = TaskContext::new(
                    task_id.clone(),
                    context_id,
                    message,
                    self.store.clone(),
                    cancel,
                );
                self.spawn_handler(ctx, reserved);
                subscription
            }
        };
        let _stream_permit = stream_permit;
        if streaming {
            self.forward(replier, subscription).await;
        } else if config.return_immediately {
            let mut task = subscription.snapshot;
            apply_history_length(&mut task, config.history_length);
            replier.result(&json!({ "task": task })).await;
        } else {
            let mut task = self.wait_until_stream_ends(subscription).await;
            apply_history_length(&mut task, config.history_length);
            replier.result(&json!({ "task": task })).await;
        }
        Ok(())
    }

    fn task_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, JsonRpcError> {
        self.task_permits.clone().try_acquire_owned().map_err(|_| {
            unavailable(format!(
                "the agent is busy with {} tasks; retry later",
                self.limits.max_concurrent_tasks
            ))
        })
    }

    fn spawn_handler(&self, ctx: TaskContext, permit: tokio::sync::OwnedSemaphorePermit) {
        let store = self.store.clone();
        let handler = self.handler.clone();
        let grace = self.limits.cancel_grace;
        let cancel = store.cancel_token(ctx.task_id()).unwrap_or_default();
        tokio::spawn(async move {
            let _permit = permit;
            let task_id = ctx.task_id().to_owned();
            store.set_status_unless(
                &task_id,
                TaskState::Working,
                TaskStatus::now(TaskState::Working, None),
            );
            let mut run = tokio::spawn(handler.handle(ctx));
            let outcome = tokio::select! {
                r = &mut run => Some(r),
                _ = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => {
                    tracing::warn!(task = %task_id, grace_ms = grace.as_millis() as u64, "handler ignored cancellation; aborted");
                    run.abort();
                    None
                }
            };
            let final_status = match outcome {
                Some(Ok(Ok(()))) => {
                    let state = store.get(&task_id).map(|t| t.status.state);
                    if state.is_some_and(TaskState::ends_stream) {
                        return;
                    }
                    TaskStatus::now(TaskState::Completed, None)
                }
                Some(Ok(Err(e))) => TaskStatus::now(
                    TaskState::Failed,
                    Some(own(
                        crate::a2a::types::Message::agent_text(e.to_string()),
                        &store,
                        &task_id,
                    )),
                ),
                Some(Err(join)) if join.is_panic() => {
                    tracing::error!(task = %task_id, "agent handler panicked");
                    TaskStatus::now(
                        TaskState::Failed,
                        Some(own(
                            crate::a2a::types::Message::agent_text("the agent's handler crashed"),
                            &store,
                            &task_id,
                        )),
                    )
                }
                _ => return, // cancelled: CancelTask already set CANCELED
            };
            store.set_status(&task_id, final_status);
        });
    }

    /// Sends the Task, then every update until the stream ends.
    async fn forward(&self, replier: &Replier, sub: Subscription) {
        let Subscription {
            snapshot,
            mut updates,
        } = sub;
        let task_id = snapshot.id.clone();
        let ends = snapshot.status.state.ends_stream();
        replier.result(&json!({ "task": snapshot })).await;
        if ends {
            return;
        }
        loop {
            let item = match updates.recv().await {
                Ok(item) => item,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow for the buffer: resume from the current state.
                    tracing::warn!(task = %task_id, missed, "stream subscriber lagged; sending a status snapshot");
                    let Some(task) = self.store.get(&task_id) else {
                        return;
                    };
                    StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
                        task_id: task.id,
                        context_id: task.context_id,
                        status: task.status,
                        metadata: None,
                    })
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let ends =
                matches!(&item, StreamResponse::StatusUpdate(ev) if ev.status.state.ends_stream());
            match serde_json::to_value(&item) {
                Ok(v) => replier.result(&v).await,
                Err(e) => tracing::error!(error = %e, "could not encode a stream item"),
            }
            if ends {
                return;
            }
        }
    }

    /// The task once it reaches a terminal or interrupted state.
    async fn wait_until_stream_ends(&self, sub: Subscription) -> Task {
        let Subscription {
            snapshot,
            mut updates,
        } = sub;
        let task_id = snapshot.id.clone();
        if snapshot.status.state.ends_stream() {
            return snapshot;
        }
        loop {
            match updates.recv().await {
                Ok(StreamResponse::StatusUpdate(ev)) if ev.status.state.ends_stream() => break,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if self
                        .store
                        .get(&task_id)
                        .is_some_and(|t| t.status.state.ends_stream())
                    {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        self.store.get(&task_id).unwrap_or(snapshot)
    }

    async fn get_task(
        &self,
        replier: &Replier,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), JsonRpcError> {
        let req: GetTaskRequest = parse(Method::GetTask, params)?;
        let mut task = self
            .store
            .get(&req.id)
            .ok_or_else(|| task_not_found(&req.id))?;
        apply_history_length(&mut task, req.history_length);
        replier
            .result(&serde_json::to_value(&task).unwrap_or(Value::Null))
            .await;
        Ok(())
    }

    async fn list_tasks(
        &self,
        replier: &Replier,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), JsonRpcError> {
        let req: ListTasksRequest = parse(Method::ListTasks, params)?;
        let list = self.store.list(&req).map_err(invalid_params)?;
        replier
            .result(&serde_json::to_value(&list).unwrap_or(Value::Null))
            .await;
        Ok(())
    }

    async fn cancel_task(
        &self,
        replier: &Replier,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), JsonRpcError> {
        let req: TaskIdRequest = parse(Method::CancelTask, params)?;
        let task = self
            .store
            .get(&req.id)
            .ok_or_else(|| task_not_found(&req.id))?;
        if task.status.state.is_terminal() {
            return Err(JsonRpcError::new(
                codes::TASK_NOT_CANCELABLE,
                format!("task {} is already {}", req.id, task.status.state.as_str()),
            ));
        }
        self.store
            .set_status(&req.id, TaskStatus::now(TaskState::Canceled, None));
        if let Some(token) = self.store.cancel_token(&req.id) {
            token.cancel();
        }
        let task = self
            .store
            .get(&req.id)
            .ok_or_else(|| task_not_found(&req.id))?;
        replier
            .result(&serde_json::to_value(&task).unwrap_or(Value::Null))
            .await;
        Ok(())
    }

    async fn subscribe(
        &self,
        replier: &Replier,
        params: Option<&serde_json::value::RawValue>,
    ) -> Result<(), JsonRpcError> {
        let req: TaskIdRequest = parse(Method::SubscribeToTask, params)?;
        let _permit = self
            .stream_permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| unavailable("the agent has too many open streams; retry later"))?;
        let sub = self
            .store
            .subscribe(&req.id)
            .ok_or_else(|| task_not_found(&req.id))?;
        if sub.snapshot.status.state.is_terminal() {
            return Err(JsonRpcError::new(
                codes::UNSUPPORTED_OPERATION,
                format!(
                    "task {} is {}; there is nothing to subscribe to",
                    req.id,
                    sub.snapshot.status.state.as_str()
                ),
            ));
        }
        self.forward(replier, sub).await;
        Ok(())
    }
}

/// Agent messages carry their task's ids.
fn own(
    mut m: crate::a2a::types::Message,
    store: &TaskStore,
    task_id: &str,
) -> crate::a2a::types::Message {
    m.task_id = Some(task_id.to_owned());
    m.context_id = store.get(task_id).map(|t| t.context_id);
    m
}
