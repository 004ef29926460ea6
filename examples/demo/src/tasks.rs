//! The demo's tasks, framework-neutral: each handler returns the response every framework sends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use keygate::adapter::RouteCosts;
use keygate::clock::Timestamp;
use keygate::response::{RequestProblem, Response};
use keygate::{Keygate, Principal};
use serde_json::{Value, json};

keygate::requirement!(pub TasksRead = all_of["tasks:read"]);
keygate::requirement!(pub TasksWrite = all_of["tasks:write"]);
keygate::requirement!(pub TasksDelete = all_of["tasks:delete"]);
keygate::plan_requirement!(pub Professional = ["professional"]);

/// Whether `GET /v1/reports` is gated on the [`Professional`] plan: in the presets that have
/// plans. Elsewhere it needs only its scope.
pub fn reports_need_a_plan(gate: &Keygate) -> bool {
    !gate.preset().plans.plans().is_empty()
}

/// What `POST /v1/tasks` costs against a key's rate-limit windows and credits; every other
/// route costs 1.
pub const CREATE_TASK_COST: u64 = 2;

/// The cost of each demo route, for the adapters that take a table of them.
pub fn route_costs() -> RouteCosts {
    RouteCosts::new().route("POST", "/v1/tasks", CREATE_TASK_COST)
}

/// Longest task title.
const MAX_TITLE: usize = 500;

#[derive(Debug, Clone)]
struct Task {
    id: String,
    title: String,
    created_at: Timestamp,
}

impl Task {
    fn json(&self) -> Value {
        json!({ "id": self.id, "title": self.title, "created_at": self.created_at })
    }
}

/// Tasks per workspace, in memory.
#[derive(Debug, Default)]
pub struct Tasks {
    by_workspace: Mutex<HashMap<String, Vec<Task>>>,
    next: AtomicU64,
}

fn ok(status: u16, body: Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
    }
}

impl Tasks {
    /// `GET /v1/tasks`: `{"data":[…]}`.
    pub fn list(&self, principal: &Principal) -> Response {
        let map = self.by_workspace.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let data: Vec<Value> =
            map.get(principal.workspace_id()).into_iter().flatten().map(Task::json).collect();
        ok(200, json!({ "data": data }))
    }

    /// `GET /v1/reports`: `{"tasks":N}`, the number of tasks of the workspace.
    pub fn report(&self, principal: &Principal) -> Response {
        let map = self.by_workspace.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = map.get(principal.workspace_id()).map_or(0, Vec::len);
        ok(200, json!({ "tasks": count }))
    }

    /// `POST /v1/tasks` with `{"title": "…"}`: 201 and the task.
    pub fn create(
        &self,
        gate: &Keygate,
        principal: &Principal,
        body: &[u8],
        request_id: &str,
    ) -> Response {
        let problem =
            |p: RequestProblem| gate.preset().renderer.render_problem(&p, Some(request_id));
        let title = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(mut map)) => match map.remove("title") {
                Some(Value::String(t))
                    if !t.trim().is_empty() && t.chars().count() <= MAX_TITLE =>
                {
                    t
                }
                _ => {
                    return problem(RequestProblem::invalid(
                        "title",
                        "title must be a string of 1 to 500 characters.",
                    ));
                }
            },
            _ => {
                return problem(RequestProblem::bad_body(
                    "The body must be a JSON object such as {\"title\": \"…\"}.",
                ));
            }
        };
        let id = format!("task_{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let task = Task { id, title, created_at: gate.clock().now() };
        let body = task.json();
        self.by_workspace
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(principal.workspace_id().to_owned())
            .or_default()
            .push(task);
        ok(201, body)
    }

    /// `DELETE /v1/tasks/{id}`: 204, or 404 in the preset's style.
    pub fn delete(
        &self,
        gate: &Keygate,
        principal: &Principal,
        id: &str,
        request_id: &str,
    ) -> Response {
        let mut map = self.by_workspace.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tasks = map.entry(principal.workspace_id().to_owned()).or_default();
        match tasks.iter().position(|t| t.id == id) {
            Some(i) => {
                tasks.remove(i);
                Response {
                    status: 204,
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: String::new(),
                }
            }
            None => gate
                .preset()
                .renderer
                .render_problem(&RequestProblem::not_found("No such task."), Some(request_id)),
        }
    }
}
