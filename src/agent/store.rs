//! In-memory task store of an SDK agent: current state of each task, the message
//! ids already processed (for retry deduplication), and a broadcast of live
//! updates for streams and subscriptions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::a2a::types::{
    Artifact, ListTasksRequest, ListTasksResponse, Message, StreamResponse, Task,
    TaskArtifactUpdateEvent, TaskState, TaskStatus, TaskStatusUpdateEvent,
};

/// Live updates buffered per task for slow subscribers; a subscriber that falls
/// further behind gets a status snapshot instead of the missed events. A
/// broadcast channel allocates all its slots up front (~350 B each), and a
/// store holds thousands of tasks: 256 slots made every task cost ~90 KB.
const UPDATE_BUFFER: usize = 32;

struct Record {
    task: Task,
    seen_messages: HashSet<String>,
    /// Dropped once the task is final (it never changes again): subscribers
    /// read what is buffered, then see the channel closed, and a store full of
    /// finished tasks holds no update buffers.
    updates: Option<broadcast::Sender<StreamResponse>>,
    cancel: CancellationToken,
    /// Monotonic counter of the last change, for ordering and eviction.
    touched: u64,
}

impl Record {
    fn set_status(&mut self, status: TaskStatus, touched: u64) -> bool {
        if self.task.status.state.is_terminal() {
            return false;
        }
        if let Some(old) = self.task.status.message.take() {
            self.task.history.get_or_insert_with(Vec::new).push(old);
        }
        self.task.status = status.clone();
        self.touched = touched;
        let terminal = status.state.is_terminal();
        if let Some(updates) = &self.updates {
            let _ = updates.send(StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
                task_id: self.task.id.clone(),
                context_id: self.task.context_id.clone(),
                status,
                metadata: None,
            }));
        }
        if terminal {
            self.updates = None;
        }
        true
    }

    /// A receiver of this task's updates; for a final task, one that reports
    /// the channel closed at once.
    fn subscribe(&self) -> broadcast::Receiver<StreamResponse> {
        match &self.updates {
            Some(updates) => updates.subscribe(),
            None => broadcast::channel(1).1,
        }
    }
}

/// Why a task could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("task {0} already exists")]
    Exists(String),
    #[error("the agent holds {0} unfinished tasks, its limit; try again later")]
    Full(usize),
}

/// What a SendMessage finds for its `Task.id`.
pub enum Lookup {
    New,
    /// The same message again: a retry. Answer with the existing state.
    Retry,
    /// A new message for an existing task.
    FollowUp(TaskState),
    /// The message's `contextId` differs from the task's.
    ContextMismatch {
        stored: String,
    },
}

/// What a SendMessage's message does to its task, decided in one step under the
/// store's lock: two copies of the same request arriving at once (the
/// requester's retry racing a slow first attempt) must not both find the task
/// missing, or the second would be refused as "exists" instead of answered as
/// the retry it is.
pub enum Admission<P> {
    /// A new SUBMITTED task whose history starts with the message: run the
    /// handler for it. `reserved` is what the caller's `reserve` returned.
    Created {
        subscription: Subscription,
        cancel: CancellationToken,
        context_id: String,
        reserved: P,
    },
    /// The interrupted task took the message and is WORKING again: run the
    /// handler for it.
    Resumed {
        subscription: Subscription,
        cancel: CancellationToken,
        context_id: String,
        reserved: P,
    },
    /// The message was taken before: a retry. Answer with the task as it is.
    Retry(Subscription),
    /// The message's `contextId` differs from the task's.
    ContextMismatch { stored: String },
    /// The task is final and takes no more messages.
    Final(TaskState),
    /// The task is running and not waiting for input.
    Running(TaskState),
    /// The store holds `0` unfinished tasks, its limit.
    Full(usize),
}

/// The store. All operations are short and synchronous under one lock.
pub struct TaskStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    records: HashMap<String, Record>,
    /// Final tasks in the order they finished, which is their `touched` order
    /// (a final task never changes again): eviction takes the front, O(1).
    finished: VecDeque<String>,
    clock: u64,
}

impl Inner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Sets `status` on `task_id` and remembers when the task became final.
    fn set_status(&mut self, task_id: &str, status: TaskStatus, unless: Option<TaskState>) -> bool {
        let touched = self.tick();
        let Some(rec) = self.records.get_mut(task_id) else {
            return false;
        };
        if unless.is_some_and(|u| rec.task.status.state == u) {
            return false;
        }
        let terminal = status.state.is_terminal();
        let changed = rec.set_status(status, touched);
        if changed && terminal {
            self.finished.push_back(task_id.to_owned());
        }
        changed
    }

    /// Drops the least recently changed final task. False if every task is live.
    fn evict_one(&mut self) -> bool {
        while let Some(id) = self.finished.pop_front() {
            if self
                .records
                .get(&id)
                .is_some_and(|r| r.task.status.state.is_terminal())
            {
                self.records.remove(&id);
                return true;
            }
        }
        false
    }
}

/// A live view of one task: its state when subscribed, then every change.
pub struct Subscription {
    pub snapshot: Task,
    pub updates: broadcast::Receiver<StreamResponse>,
}

impl TaskStore {
    /// A store holding at most `capacity` tasks (finished ones are evicted first).
    pub fn new(capacity: usize) -> TaskStore {
        TaskStore {
            inner: Mutex::new(Inner {
                records: HashMap::new(),
                finished: VecDeque::new(),
                clock: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Classifies an incoming message for `task_id`, as of now. Acting on the
    /// answer (`create`, `follow_up`) races with a simultaneous copy of the same
    /// request; the agent uses [`TaskStore::admit`], which decides and acts in
    /// one step.
    pub fn lookup(&self, task_id: &str, message: &Message) -> Lookup {
        let inner = self.lock();
        let Some(rec) = inner.records.get(task_id) else {
            return Lookup::New;
        };
        if let Some(ctx) = message.context_id.as_deref().filter(|c| !c.is_empty())
            && ctx != rec.task.context_id
        {
            return Lookup::ContextMismatch {
                stored: rec.task.context_id.clone(),
            };
        }
        if rec.seen_messages.contains(&message.message_id) {
            Lookup::Retry
        } else {
            Lookup::FollowUp(rec.task.status.state)
        }
    }

    /// Classifies `message` for `task_id` and, when it starts or resumes work,
    /// records it — all under one lock, so simultaneous copies of a request see
    /// each other (see [`Admission`]). `reserve` is called, still under the
    /// lock, only when the message starts or resumes work (e.g. to take a
    /// handler slot, which a retry must not need); its error is returned as is,
    /// and then nothing changes. A new task's context is the message's, else a
    /// fresh UUID.
    pub fn admit<P, E>(
        &self,
        task_id: &str,
        message: &Message,
        reserve: impl FnOnce() -> Result<P, E>,
    ) -> Result<Admission<P>, E> {
        let mut inner = self.lock();
        let Some(rec) = inner.records.get(task_id) else {
            if inner.records.len() >= self.capacity && !inner.evict_one() {
                return Ok(Admission::Full(self.capacity));
            }
            let reserved = reserve()?;
            let context_id = message
                .context_id
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let (subscription, cancel) =
                Self::insert_new(&mut inner, task_id, &context_id, message.clone());
            return Ok(Admission::Created {
                subscription,
                cancel,
                context_id,
                reserved,
            });
        };
        if let Some(ctx) = message.context_id.as_deref().filter(|c| !c.is_empty())
            && ctx != rec.task.context_id
        {
            return Ok(Admission::ContextMismatch {
                stored: rec.task.context_id.clone(),
            });
        }
        if rec.seen_messages.contains(&message.message_id) {
            return Ok(Admission::Retry(Subscription {
                snapshot: rec.task.clone(),
                updates: rec.subscribe(),
            }));
        }
        let state = rec.task.status.state;
        if state.is_terminal() {
            return Ok(Admission::Final(state));
        }
        if !state.is_interrupted() {
            return Ok(Admission::Running(state));
        }
        let reserved = reserve()?;
        let context_id = rec.task.context_id.clone();
        match Self::resume(&mut inner, task_id, message.clone()) {
            Some((subscription, cancel)) => Ok(Admission::Resumed {
                subscription,
                cancel,
                context_id,
                reserved,
            }),
            // Unreachable: the record was there a moment ago, under this lock.
            None => Ok(Admission::Running(state)),
        }
    }

    /// Creates a SUBMITTED task whose history starts with `message`, and
    /// subscribes to it before anyone can change it.
    pub fn create(
        &self,
        task_id: &str,
        context_id: &str,
        message: Message,
    ) -> Result<(Subscription, CancellationToken), StoreError> {
        let mut inner = self.lock();
        if inner.records.contains_key(task_id) {
            return Err(StoreError::Exists(task_id.to_owned()));
        }
        if inner.records.len() >= self.capacity && !inner.evict_one() {
            return Err(StoreError::Full(self.capacity));
        }
        Ok(Self::insert_new(&mut inner, task_id, context_id, message))
    }

    fn insert_new(
        inner: &mut Inner,
        task_id: &str,
        context_id: &str,
        message: Message,
    ) -> (Subscription, CancellationToken) {
        let touched = inner.tick();
        let mut seen_messages = HashSet::new();
        seen_messages.insert(message.message_id.clone());
        let task = Task {
            id: task_id.to_owned(),
            context_id: context_id.to_owned(),
            status: TaskStatus::now(TaskState::Submitted, None),
            artifacts: None,
            history: Some(vec![message]),
            metadata: None,
        };
        let (updates, rx) = broadcast::channel(UPDATE_BUFFER);
        let cancel = CancellationToken::new();
        inner.records.insert(
            task_id.to_owned(),
            Record {
                task: task.clone(),
                seen_messages,
                updates: Some(updates),
                cancel: cancel.clone(),
                touched,
            },
        );
        (
            Subscription {
                snapshot: task,
                updates: rx,
            },
            cancel,
        )
    }

    /// Records a follow-up message on an interrupted task, sets it WORKING again
    /// and subscribes. Returns `None` if the task vanished.
    pub fn follow_up(
        &self,
        task_id: &str,
        message: Message,
    ) -> Option<(Subscription, CancellationToken)> {
        Self::resume(&mut self.lock(), task_id, message)
    }

    fn resume(
        inner: &mut Inner,
        task_id: &str,
        message: Message,
    ) -> Option<(Subscription, CancellationToken)> {
        let rec = inner.records.get_mut(task_id)?;
        rec.seen_messages.insert(message.message_id.clone());
        rec.task.history.get_or_insert_with(Vec::new).push(message);
        inner.set_status(task_id, TaskStatus::now(TaskState::Working, None), None);
        let rec = inner.records.get_mut(task_id)?;
        Some((
            Subscription {
                snapshot: rec.task.clone(),
                updates: rec.subscribe(),
            },
            rec.cancel.clone(),
        ))
    }

    /// The current state of a task.
    pub fn get(&self, task_id: &str) -> Option<Task> {
        self.lock().records.get(task_id).map(|r| r.task.clone())
    }

    /// A snapshot plus live updates, taken atomically.
    pub fn subscribe(&self, task_id: &str) -> Option<Subscription> {
        let inner = self.lock();
        let rec = inner.records.get(task_id)?;
        Some(Subscription {
            snapshot: rec.task.clone(),
            updates: rec.subscribe(),
        })
    }

    /// The cancellation token of a task.
    pub fn cancel_token(&self, task_id: &str) -> Option<CancellationToken> {
        self.lock().records.get(task_id).map(|r| r.cancel.clone())
    }

    /// Sets a new status and broadcasts it. A final task does not change any
    /// more: returns `false` then (and for unknown tasks).
    pub fn set_status(&self, task_id: &str, status: TaskStatus) -> bool {
        self.lock().set_status(task_id, status, None)
    }

    /// Sets a new status unless the task is in `state` already.
    pub fn set_status_unless(&self, task_id: &str, unless: TaskState, status: TaskStatus) -> bool {
        self.lock().set_status(task_id, status, Some(unless))
    }

    /// Adds or extends an artifact and broadcasts it. Ignored on final tasks.
    pub fn add_artifact(
        &self,
        task_id: &str,
        artifact: Artifact,
        append: bool,
        last_chunk: bool,
    ) -> bool {
        let mut inner = self.lock();
        let touched = inner.tick();
        let Some(rec) = inner.records.get_mut(task_id) else {
            return false;
        };
        if rec.task.status.state.is_terminal() {
            return false;
        }
        let list = rec.task.artifacts.get_or_insert_with(Vec::new);
        match list
            .iter_mut()
            .find(|a| a.artifact_id == artifact.artifact_id)
        {
            Some(existing) if append => existing.parts.extend(artifact.parts.iter().cloned()),
            Some(existing) => *existing = artifact.clone(),
            None => list.push(artifact.clone()),
        }
        rec.touched = touched;
        if let Some(updates) = &rec.updates {
            let _ = updates.send(StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                task_id: rec.task.id.clone(),
                context_id: rec.task.context_id.clone(),
                artifact,
                append,
                last_chunk,
                metadata: None,
            }));
        }
        true
    }

    /// Tasks not yet final.
    pub fn unfinished(&self) -> Vec<String> {
        self.lock()
            .records
            .values()
            .filter(|r| !r.task.status.state.is_terminal())
            .map(|r| r.task.id.clone())
            .collect()
    }

    /// ListTasks: filter, newest change first, cursor pagination.
    pub fn list(&self, req: &ListTasksRequest) -> Result<ListTasksResponse, String> {
        let page_size = match req.page_size {
            None | Some(0) => 50,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => return Err(format!("pageSize must be between 1 and 100, got {n}")),
        };
        let after: Option<u64> = match req.page_token.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(
                t.parse()
                    .map_err(|_| format!("pageToken {t:?} is not one this agent issued"))?,
            ),
        };
        let inner = self.lock();
        let mut matching: Vec<&Record> = inner
            .records
            .values()
            .filter(|r| {
                req.context_id
                    .as_deref()
                    .is_none_or(|c| r.task.context_id == c)
            })
            .filter(|r| req.status.is_none_or(|s| r.task.status.state == s))
            .filter(|r| {
                req.status_timestamp_after.as_deref().is_none_or(|after| {
                    r.task
                        .status
                        .timestamp
                        .as_deref()
                        .is_some_and(|ts| ts > after)
                })
            })
            .collect();
        matching.sort_by_key(|r| std::cmp::Reverse(r.touched));
        let total = matching.len();
        let start = match after {
            None => 0,
            Some(cursor) => matching
                .iter()
                .position(|r| r.touched < cursor)
                .unwrap_or(total),
        };
        let page: Vec<&Record> = matching
            .iter()
            .skip(start)
            .take(page_size)
            .copied()
            .collect();
        let next = if start + page.len() < total {
            page.last()
                .map(|r| r.touched.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let include_artifacts = req.include_artifacts.unwrap_or(false);
        let tasks = page
            .into_iter()
            .map(|r| {
                let mut t = r.task.clone();
                if !include_artifacts {
                    t.artifacts = None;
                }
                apply_history_length(&mut t, req.history_length);
                t
            })
            .collect();
        Ok(ListTasksResponse {
            tasks,
            next_page_token: next,
            page_size: page_size as i32,
            total_size: total as i32,
        })
    }
}

/// `historyLength` semantics: unset keeps all, 0 drops it, n keeps the last n.
pub fn apply_history_length(task: &mut Task, history_length: Option<i32>) {
    match history_length {
        None => {}
        Some(n) if n <= 0 => task.history = None,
        Some(n) => {
            if let Some(h) = task.history.as_mut() {
                let keep = n as usize;
                if h.len() > keep {
                    h.drain(..h.len() - keep);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::a2a::types::Part;

    fn msg(id: &str) -> Message {
        Message {
            message_id: id.into(),
            ..Message::user_text("hi")
        }
    }

    #[test]
    fn dedup_by_message_and_context_check() {
        let store = TaskStore::new(10);
        assert!(matches!(store.lookup("t", &msg("m1")), Lookup::New));
        store.create("t", "c", msg("m1")).unwrap();
        assert!(matches!(store.lookup("t", &msg("m1")), Lookup::Retry));
        assert!(matches!(
            store.lookup("t", &msg("m2")),
            Lookup::FollowUp(TaskState::Submitted)
        ));
        let mut other_ctx = msg("m3");
        other_ctx.context_id = Some("other".into());
        assert!(matches!(
            store.lookup("t", &other_ctx),
            Lookup::ContextMismatch { .. }
        ));
        assert!(matches!(
            store.create("t", "c", msg("m1")),
            Err(StoreError::Exists(_))
        ));
    }

    /// Admits `message` for task `t` the way the agent does, counting the
    /// handler slots taken.
    fn admit(store: &TaskStore, message: &Message, slots: &AtomicUsize) -> Admission<()> {
        store
            .admit("t", message, || {
                slots.fetch_add(1, Ordering::SeqCst);
                Ok::<(), ()>(())
            })
            .unwrap()
    }

    /// Admits two copies of `message` for task `t` at the same moment, from two
    /// threads; how each went ("created", "resumed", "retry" or "other"),
    /// sorted, and how many handler slots they took.
    fn admit_two_copies_at_once(
        store: &TaskStore,
        message: &Message,
    ) -> (Vec<&'static str>, usize) {
        let slots = AtomicUsize::new(0);
        let barrier = Barrier::new(2);
        let mut outcomes: Vec<&'static str> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        match admit(store, message, &slots) {
                            Admission::Created { .. } => "created",
                            Admission::Resumed { .. } => "resumed",
                            Admission::Retry(_) => "retry",
                            _ => "other",
                        }
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        outcomes.sort_unstable();
        (outcomes, slots.load(Ordering::SeqCst))
    }

    /// Two copies of the same request at the same moment (a retry racing a slow
    /// first attempt): one starts the work, the other is its retry — never
    /// "task exists" (-32602), never a second handler.
    #[test]
    fn simultaneous_copies_of_a_request_are_one_task_and_one_retry() {
        for round in 0..200 {
            let store = TaskStore::new(10);
            let (outcomes, slots) = admit_two_copies_at_once(&store, &msg("m1"));
            assert_eq!(outcomes, ["created", "retry"], "round {round}");
            assert_eq!(slots, 1, "one handler slot taken");
            assert_eq!(store.get("t").unwrap().history.unwrap().len(), 1);
        }
    }

    #[test]
    fn simultaneous_copies_of_a_follow_up_resume_the_task_once() {
        for round in 0..200 {
            let store = TaskStore::new(10);
            store.create("t", "c", msg("m1")).unwrap();
            store.set_status("t", TaskStatus::now(TaskState::InputRequired, None));
            let (outcomes, slots) = admit_two_copies_at_once(&store, &msg("m2"));
            assert_eq!(outcomes, ["resumed", "retry"], "round {round}");
            assert_eq!(slots, 1);
            assert_eq!(store.get("t").unwrap().history.unwrap().len(), 2);
        }
    }

    #[test]
    fn admission_refuses_without_taking_a_slot() {
        let store = TaskStore::new(1);
        let slots = AtomicUsize::new(0);
        assert!(matches!(
            admit(&store, &msg("m1"), &slots),
            Admission::Created { .. }
        ));
        // Running, not waiting for input.
        assert!(matches!(
            admit(&store, &msg("m2"), &slots),
            Admission::Running(TaskState::Submitted)
        ));
        let mut other_ctx = msg("m3");
        other_ctx.context_id = Some("other".into());
        assert!(matches!(
            admit(&store, &other_ctx, &slots),
            Admission::ContextMismatch { .. }
        ));
        // Full: the only slot holds an unfinished task.
        assert!(matches!(
            store.admit("t2", &msg("m4"), || Ok::<(), ()>(())),
            Ok(Admission::Full(1))
        ));
        store.set_status("t", TaskStatus::now(TaskState::Completed, None));
        assert!(matches!(
            admit(&store, &msg("m5"), &slots),
            Admission::Final(TaskState::Completed)
        ));
        assert_eq!(
            slots.load(Ordering::SeqCst),
            1,
            "only the creation took one"
        );
        // A refused reservation changes nothing.
        assert_eq!(
            store.admit("t3", &msg("m6"), || Err::<(), _>("busy")).err(),
            Some("busy")
        );
        assert!(store.get("t3").is_none());
    }

    #[test]
    fn updates_are_broadcast_and_final_tasks_freeze() {
        let store = TaskStore::new(10);
        let (mut sub, _cancel) = store.create("t", "c", msg("m")).unwrap();
        assert_eq!(sub.snapshot.status.state, TaskState::Submitted);
        assert!(store.set_status(
            "t",
            TaskStatus::now(TaskState::Working, Some(Message::agent_text("50%")))
        ));
        let art = Artifact {
            artifact_id: "a".into(),
            name: None,
            description: None,
            parts: vec![Part::text("x")],
            metadata: None,
            extensions: vec![],
        };
        assert!(store.add_artifact("t", art.clone(), false, false));
        assert!(store.add_artifact("t", art.clone(), true, true));
        assert!(store.set_status("t", TaskStatus::now(TaskState::Completed, None)));
        assert!(!store.set_status("t", TaskStatus::now(TaskState::Working, None)));
        assert!(!store.add_artifact("t", art, false, false));
        let kinds: Vec<&str> = std::iter::from_fn(|| sub.updates.try_recv().ok())
            .map(|u| match u {
                StreamResponse::StatusUpdate(_) => "status",
                StreamResponse::ArtifactUpdate(_) => "artifact",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["status", "artifact", "artifact", "status"]);
        assert_eq!(
            sub.updates.try_recv(),
            Err(broadcast::error::TryRecvError::Closed),
            "a final task's update channel is closed after its last update"
        );
        let mut late = store.subscribe("t").unwrap();
        assert_eq!(late.snapshot.status.state, TaskState::Completed);
        assert_eq!(
            late.updates.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        );
        let task = store.get("t").unwrap();
        assert_eq!(task.artifacts.unwrap()[0].parts.len(), 2);
        assert_eq!(
            task.history.unwrap().len(),
            2,
            "the replaced progress message moved to history"
        );
    }

    #[test]
    fn eviction_takes_the_task_that_finished_first() {
        let store = TaskStore::new(3);
        for id in ["a", "b", "c"] {
            store.create(id, "ctx", msg(id)).unwrap();
        }
        store.set_status("c", TaskStatus::now(TaskState::Completed, None));
        store.set_status("a", TaskStatus::now(TaskState::Failed, None));
        store.set_status("b", TaskStatus::now(TaskState::InputRequired, None));
        store.create("d", "ctx", msg("d")).unwrap();
        assert!(store.get("c").is_none(), "c finished first");
        store.create("e", "ctx", msg("e")).unwrap();
        assert!(store.get("a").is_none());
        assert!(
            store.get("b").is_some(),
            "an interrupted task is not final and stays"
        );
        assert!(matches!(
            store.create("f", "ctx", msg("f")),
            Err(StoreError::Full(3))
        ));
    }

    #[test]
    fn capacity_evicts_final_tasks_first() {
        let store = TaskStore::new(2);
        store.create("a", "c", msg("1")).unwrap();
        store.create("b", "c", msg("2")).unwrap();
        assert!(matches!(
            store.create("c", "c", msg("3")),
            Err(StoreError::Full(2))
        ));
        store.set_status("a", TaskStatus::now(TaskState::Completed, None));
        store.create("c", "c", msg("3")).unwrap();
        assert!(store.get("a").is_none());
        assert!(store.get("b").is_some());
    }

    #[test]
    fn list_paginates_newest_first() {
        let store = TaskStore::new(100);
        for i in 0..5 {
            store
                .create(
                    &format!("t{i}"),
                    if i % 2 == 0 { "even" } else { "odd" },
                    msg(&i.to_string()),
                )
                .unwrap();
        }
        let page1 = store
            .list(&ListTasksRequest {
                page_size: Some(2),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page1.total_size, 5);
        let ids: Vec<&str> = page1.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t4", "t3"]);
        let page2 = store
            .list(&ListTasksRequest {
                page_size: Some(2),
                page_token: Some(page1.next_page_token.clone()),
                ..Default::default()
            })
            .unwrap();
        let ids: Vec<&str> = page2.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t2", "t1"]);
        let page3 = store
            .list(&ListTasksRequest {
                page_size: Some(2),
                page_token: Some(page2.next_page_token),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page3.tasks.len(), 1);
        assert_eq!(page3.next_page_token, "");
        let even = store
            .list(&ListTasksRequest {
                context_id: Some("even".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(even.total_size, 3);
        assert!(even.tasks.iter().all(|t| t.artifacts.is_none()));
        assert!(
            store
                .list(&ListTasksRequest {
                    page_size: Some(1000),
                    ..Default::default()
                })
                .is_err()
        );
        assert!(
            store
                .list(&ListTasksRequest {
                    page_token: Some("zz".into()),
                    ..Default::default()
                })
                .is_err()
        );
    }

    #[test]
    fn history_length_semantics() {
        let store = TaskStore::new(10);
        store.create("t", "c", msg("m")).unwrap();
        let mut t = store.get("t").unwrap();
        apply_history_length(&mut t, Some(0));
        assert!(t.history.is_none());
    }
}
