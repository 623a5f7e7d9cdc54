//! The two statements nearly every table's migration repeats, written once. Each builds
//! exactly what the migrations wrote out before (the schema is unchanged, on SQLite and on
//! PostgreSQL alike).

use sea_orm_migration::prelude::*;

/// A foreign key from `from` to `to` whose rows go when the row they name goes.
pub fn cascade<T, C, P, K>(name: &str, from: (T, C), to: (P, K)) -> ForeignKeyCreateStatement
where
    T: IntoTableRef,
    C: IntoIden,
    P: IntoTableRef,
    K: IntoIden,
{
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

/// An index over `columns` of `table`.
pub fn index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoTableRef,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}

/// A unique index over `columns` of `table`.
pub fn unique_index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoTableRef,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    index(name, table, columns).unique().to_owned()
}
