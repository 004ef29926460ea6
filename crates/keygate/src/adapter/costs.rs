//! What each route of a service costs: the weight an adapter passes to
//! [`Keygate::authenticate_weighted`](crate::Keygate::authenticate_weighted).

use std::sync::Arc;

/// The cost of each route, for the rate-limit windows and the credits of the key that calls it:
/// [`DEFAULT_COST`](crate::DEFAULT_COST) (1) unless a route is named here. A route is a method
/// and the pattern the framework matched (`/v1/tasks/{id}`, not `/v1/tasks/42`); a method of
/// `*` names every method of that route.
///
/// ```
/// use keygate::adapter::RouteCosts;
///
/// let costs = RouteCosts::new().route("POST", "/v1/tasks", 2).route("*", "/v1/export", 10);
/// assert_eq!(costs.cost_of("POST", "/v1/tasks"), 2);
/// assert_eq!(costs.cost_of("GET", "/v1/tasks"), 1);
/// assert_eq!(costs.cost_of("get", "/v1/export"), 10);
/// assert_eq!(costs.cost_of("HEAD", "/v1/export"), 10); // HEAD runs GET's handler
/// assert_eq!(RouteCosts::new().default_cost(0).cost_of("GET", "/healthz"), 0);
/// ```
#[derive(Debug, Clone)]
pub struct RouteCosts {
    default: u64,
    routes: Vec<Route>,
}

#[derive(Debug, Clone)]
struct Route {
    /// `None` for every method.
    method: Option<Arc<str>>,
    pattern: Arc<str>,
    cost: u64,
}

impl Default for RouteCosts {
    fn default() -> Self {
        RouteCosts { default: crate::DEFAULT_COST, routes: Vec::new() }
    }
}

impl RouteCosts {
    /// Every route costs [`DEFAULT_COST`](crate::DEFAULT_COST).
    pub fn new() -> Self {
        Self::default()
    }

    /// What a route not named costs (default 1; 0 makes it free).
    pub fn default_cost(mut self, cost: u64) -> Self {
        self.default = cost;
        self
    }

    /// `method` (`GET`, `POST`, …, or `*` for any) on the route `pattern` costs `cost`. A later
    /// entry for the same method and pattern replaces the earlier one.
    pub fn route(mut self, method: &str, pattern: &str, cost: u64) -> Self {
        let method = (method != "*").then(|| Arc::from(method.to_ascii_uppercase()));
        self.routes.retain(|r| !(r.method == method && &*r.pattern == pattern));
        self.routes.push(Route { method, pattern: pattern.into(), cost });
        self
    }

    /// Whether every route costs the same, so that an adapter need not read the route.
    pub fn is_uniform(&self) -> bool {
        self.routes.is_empty()
    }

    /// What a request of `method` costs, reading its matched pattern with `pattern` only when
    /// routes differ: [`cost_of`](Self::cost_of) the pattern, or
    /// [`cost_unmatched`](Self::cost_unmatched) when the adapter cannot tell it (`None`). What
    /// every adapter calls.
    ///
    /// ```
    /// use keygate::adapter::RouteCosts;
    ///
    /// let costs = RouteCosts::new().route("POST", "/v1/tasks", 2);
    /// assert_eq!(costs.cost_with("POST", || Some("/v1/tasks")), 2);
    /// assert_eq!(costs.cost_with("POST", || None::<&str>), 2); // not known: the most
    /// assert_eq!(RouteCosts::new().cost_with("POST", || -> Option<&str> { unreachable!() }), 1);
    /// ```
    pub fn cost_with<P: AsRef<str>>(
        &self,
        method: &str,
        pattern: impl FnOnce() -> Option<P>,
    ) -> u64 {
        if self.is_uniform() {
            return self.default;
        }
        match pattern() {
            Some(p) => self.cost_of(method, p.as_ref()),
            None => self.cost_unmatched(method),
        }
    }

    /// What `method` on the matched route `pattern` costs: an entry for that method first (for
    /// `HEAD`, which routers answer with the `GET` handler, then `GET`'s), then one for any
    /// method, then the default.
    pub fn cost_of(&self, method: &str, pattern: &str) -> u64 {
        let on_route = || self.routes.iter().filter(move |r| &*r.pattern == pattern);
        let named = |m: &str| {
            on_route().find(|r| r.method.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(m)))
        };
        named(method)
            .or_else(|| method.eq_ignore_ascii_case("HEAD").then(|| named("GET")).flatten())
            .or_else(|| on_route().find(|r| r.method.is_none()))
            .map_or(self.default, |r| r.cost)
    }

    /// What a request costs when its route is not known (the router has not matched it, or
    /// recorded no pattern): the most that `method` costs on any route, never less than the
    /// default, so that a route cannot be made cheaper by spelling its path differently.
    ///
    /// ```
    /// use keygate::adapter::RouteCosts;
    ///
    /// let costs = RouteCosts::new().route("POST", "/v1/tasks", 2).route("*", "/v1/export", 10);
    /// assert_eq!((costs.cost_unmatched("POST"), costs.cost_unmatched("GET")), (10, 10));
    /// assert_eq!(RouteCosts::new().route("POST", "/v1/tasks", 2).cost_unmatched("GET"), 1);
    /// ```
    pub fn cost_unmatched(&self, method: &str) -> u64 {
        let head = method.eq_ignore_ascii_case("HEAD");
        self.routes
            .iter()
            .filter(|r| match r.method.as_deref() {
                None => true,
                Some(m) => m.eq_ignore_ascii_case(method) || (head && m == "GET"),
            })
            .map(|r| r.cost)
            .fold(self.default, u64::max)
    }
}
