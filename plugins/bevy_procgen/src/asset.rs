//! Level files through Bevy's asset system: [`LevelLoader`] turns `.level.ron` files into
//! [`LevelAsset`]s, so they hot-reload with the `file_watcher` feature.

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;

use crate::generate::parse_level;
use crate::spec::{LEVEL_EXTENSION, LevelError, LevelSpec};

/// A parsed level file, checked as [`parse_level`] checks it: it can be laid out.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct LevelAsset(pub LevelSpec);

/// Loads level files (`.level.ron`, [`LEVEL_EXTENSION`]); a bad file fails the load with a
/// [`LevelError`] naming the file, the line and the problem, which the plugin reports as
/// [`LevelEvent::Failed`](crate::LevelEvent::Failed).
///
/// It claims only the double extension, not every `.ron`, so a game's other RON assets keep
/// their own loaders. A file with another extension still loads as a level when asked for
/// by type (`asset_server.load::<LevelAsset>("old.ron")`), since no other loader makes a
/// [`LevelAsset`].
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
        parse_level(&text, &path).map(LevelAsset)
    }

    fn extensions(&self) -> &[&str] {
        &[LEVEL_EXTENSION]
    }
}
