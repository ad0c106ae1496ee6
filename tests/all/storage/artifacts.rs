//! The storage contract for artifacts, on both backends: written with the
//! result in one fenced transaction, read back by path and chunk, seen by
//! no other task, and gone with their task.

use std::sync::Arc;
use std::time::Duration;

use sandrun::storage::{ArtifactWrite, CHUNK_BYTES, RunEnd, Storage, now_ms};
use sandrun_api::{ArtifactInfo, TaskStatus};
use sha2::{Digest, Sha256};

use super::{ended, new_task};

fn info(path: &str, bytes: &[u8], media_type: &str) -> ArtifactInfo {
    ArtifactInfo {
        path: path.into(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        media_type: media_type.into(),
    }
}

on_both_backends!(artifacts_are_stored_with_the_result_in_chunks_and_go_with_the_task);

async fn artifacts_are_stored_with_the_result_in_chunks_and_go_with_the_task(
    storage: Arc<dyn Storage>,
) {
    let ids = ["t1", "t2", "t3"];
    storage
        .insert_tasks(ids.iter().map(|id| new_task(id)).collect())
        .await
        .unwrap();
    storage
        .claim("n", 3, Duration::from_secs(60))
        .await
        .unwrap();
    let big: Vec<u8> = (0..2 * CHUNK_BYTES + 5).map(|i| (i % 251) as u8).collect();
    let small = b"hello".to_vec();
    let infos = [
        info("a/big.bin", &big, "application/octet-stream"),
        info("z.txt", &small, "text/plain"),
    ];
    let writes = [
        ArtifactWrite {
            info: &infos[1],
            bytes: &small,
        },
        ArtifactWrite {
            info: &infos[0],
            bytes: &big,
        },
    ];
    let with = |artifacts| RunEnd {
        artifacts,
        ..ended(TaskStatus::Succeeded)
    };

    // A runner that no longer holds the task stores nothing.
    assert!(
        !storage
            .finish("t1", 1, "other", with(&writes))
            .await
            .unwrap()
    );
    assert!(
        storage
            .artifacts()
            .artifacts("t1")
            .await
            .unwrap()
            .is_empty()
    );

    assert!(storage.finish("t1", 1, "n", with(&writes)).await.unwrap());
    let store = storage.artifacts();
    assert_eq!(store.artifacts("t1").await.unwrap(), infos, "by path");
    assert_eq!(
        store.artifact("t1", "z.txt").await.unwrap(),
        Some(infos[1].clone())
    );
    assert_eq!(store.artifact("t1", "nope").await.unwrap(), None);
    let mut read = Vec::new();
    for n in 0..3 {
        let chunk = store.artifact_chunk("t1", "a/big.bin", n).await.unwrap();
        let chunk = chunk.unwrap_or_else(|| panic!("chunk {n}"));
        assert!(chunk.len() <= CHUNK_BYTES);
        read.extend(chunk);
    }
    assert_eq!(read, big);
    assert_eq!(
        store.artifact_chunk("t1", "a/big.bin", 3).await.unwrap(),
        None
    );

    // Another task sees none of them.
    assert!(storage.finish("t2", 1, "n", with(&[])).await.unwrap());
    assert!(store.artifacts("t2").await.unwrap().is_empty());
    assert_eq!(store.artifact("t2", "z.txt").await.unwrap(), None);

    // Deleted with the task, and pruned with it.
    assert_eq!(
        storage.delete("t1").await.unwrap(),
        sandrun::storage::Deleted::Yes
    );
    assert!(store.artifacts("t1").await.unwrap().is_empty());
    assert_eq!(store.artifact_chunk("t1", "z.txt", 0).await.unwrap(), None);
    assert!(
        storage
            .finish("t3", 1, "n", with(&writes[..1]))
            .await
            .unwrap()
    );
    assert_eq!(store.artifacts("t3").await.unwrap().len(), 1);
    assert_eq!(storage.prune(now_ms() + 1000, 10).await.unwrap(), 2);
    assert!(store.artifacts("t3").await.unwrap().is_empty());
    assert_eq!(store.artifact_chunk("t3", "z.txt", 0).await.unwrap(), None);
}
