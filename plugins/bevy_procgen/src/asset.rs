//! Level files through Bevy's asset system: [`LevelLoader`] turns `.ron` files into
//! [`LevelAsset`]s, so they hot-reload with the `file_watcher` feature.

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;

use crate::spec::{LevelError, LevelSpec};

/// A parsed and validated level file.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct LevelAsset(pub LevelSpec);

/// Loads `.ron` level files; a bad file fails the load with a [`LevelError`] naming the
/// file, the line and the problem.
#[derive(Default, TypePath)]
pub struct LevelLoader;

impl AssetLoader for LevelLoader {
    type Asset = LevelAsset;
    type Settings = ();
    type Error = LevelError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<LevelAsset, LevelError> {
        let path = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| LevelError::Io {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let text = String::from_utf8(bytes).map_err(|e| LevelError::Io {
            path: path.clone(),
            reason: format!("not UTF-8 text: {e}"),
        })?;
        LevelSpec::from_ron(&text, &path).map(LevelAsset)
    }

    fn extensions(&self) -> &[&str] {
        &["ron"]
    }
}
