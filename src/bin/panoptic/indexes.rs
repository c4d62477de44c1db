//! `panoptic indexes`: check (and create) the indexes of every collection
//! of every `panoptic-*` database.

use bson::Document;
use futures_util::TryStreamExt;
use panoptic::naming::DATABASE_PREFIX;

use crate::options::{Global, connect};

/// Runs `panoptic indexes`.
pub async fn run(global: &Global) -> Result<(), String> {
    let client = connect::ping(global).await?;
    let error = |e: mongodb::error::Error| connect::describe(&e);
    let databases = client.list_database_names().await.map_err(error)?;
    let mut checked = 0;
    for name in databases.iter().filter(|n| n.starts_with(DATABASE_PREFIX)) {
        let database = client.database(name);
        for collection_name in database.list_collection_names().await.map_err(error)? {
            let collection = database.collection::<Document>(&collection_name);
            collection
                .create_indexes(panoptic::index_models())
                .await
                .map_err(|e| format!("{name}.{collection_name}: {}", connect::describe(&e)))?;
            let present: Vec<Document> = collection
                .list_indexes()
                .await
                .map_err(error)?
                .try_collect::<Vec<_>>()
                .await
                .map_err(error)?
                .into_iter()
                .map(|index| index.keys)
                .collect();
            let missing = panoptic::index_keys()
                .into_iter()
                .filter(|keys| !present.contains(keys))
                .count();
            if missing > 0 {
                return Err(format!(
                    "{name}.{collection_name}: {missing} index(es) still missing"
                ));
            }
            println!("{name}.{collection_name}: ok ({} indexes)", present.len());
            checked += 1;
        }
    }
    eprintln!("panoptic: {checked} collection(s) checked");
    Ok(())
}
