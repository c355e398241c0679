//! A fresh PostgreSQL database per test, on the server `scripts/test` starts: tests that
//! need PostgreSQL fail (never skip) when it is not there, saying how to provide it.

use crate::DatabaseUrl;
use sqlx::ConnectOptions;
use sqlx::Executor;
use sqlx::postgres::PgConnectOptions;

/// The variable naming the test server: a URL whose user may create databases.
pub const URL_VARIABLE: &str = "HIPKIT_TEST_POSTGRES_URL";

/// The test server's URL; panics, saying how to get one, when it is not set.
pub fn server_url() -> String {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "this test needs PostgreSQL: run scripts/test (it starts a throwaway server), or \
             set {URL_VARIABLE} to a postgres:// URL whose user may create databases"
        ),
    }
}

/// `url` naming database `name` instead of its own (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest
        .find(['/', '?'])
        .map_or(url.len(), |i| authority_start + i);
    let query = url[authority_end..]
        .find('?')
        .map_or("", |i| &url[authority_end + i..]);
    format!("{}/{name}{query}", &url[..authority_end])
}

/// Creates a new, empty database on the test server and returns its URL (tests running in
/// parallel each get their own). The server and its databases go when `scripts/test` ends.
pub async fn fresh_database() -> DatabaseUrl {
    let server = server_url();
    let opts: PgConnectOptions = server
        .parse()
        .unwrap_or_else(|e| panic!("{URL_VARIABLE} is not a PostgreSQL URL: {e}"));
    let mut conn = opts
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server ({URL_VARIABLE}): {e}"));
    let name = format!("hipkit_test_{}", uuid::Uuid::new_v4().simple());
    // The name is ours (a UUID), not input.
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database on {URL_VARIABLE}: {e}"));
    DatabaseUrl::new(with_database(&server, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5/t1"
        );
        assert_eq!(
            with_database("postgres://u@h:5?sslmode=disable", "t1"),
            "postgres://u@h:5/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h/db?application_name=x", "t1"),
            "postgres://u@h/t1?application_name=x"
        );
    }
}
