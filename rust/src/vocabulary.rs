//! The one string interner: words (tokens) as dense ids `0..len()`, in order of
//! first appearance, so that scoring loops compare integers instead of strings.
//!
//! ROUGE interns the tokens of each prepared text (`rouge.rs`), the oracle the
//! tokens of a meeting's units (`oracle.rs`), and the rankers the words of the
//! units they rank (`rank.rs`, `bm25.rs`, `tfidf.rs`, `textrank.rs`).

use rustc_hash::FxHashMap;

/// Words interned as dense ids. Equal words get equal ids.
#[derive(Default, Debug)]
pub struct Vocabulary {
    ids: FxHashMap<Box<str>, u32>,
}

impl Vocabulary {
    /// The id of `word`, adding it if new.
    pub fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(word.into(), id);
        id
    }

    /// The ids of `words`, adding the new ones.
    pub fn ids<S: AsRef<str>>(&mut self, words: &[S]) -> Vec<u32> {
        words.iter().map(|w| self.id(w.as_ref())).collect()
    }

    /// The id of a known word, None for a word never seen.
    pub fn get(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// Every (word, id) seen, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.ids.iter().map(|(word, &id)| (&**word, id))
    }

    /// Number of distinct words seen.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_order_of_first_appearance() {
        let mut vocabulary = Vocabulary::default();
        assert!(vocabulary.is_empty());
        assert_eq!(vocabulary.ids(&["b", "a", "b", "c"]), [0, 1, 0, 2]);
        assert_eq!(vocabulary.id("a"), 1);
        assert_eq!(vocabulary.len(), 3);
        assert_eq!(vocabulary.get("c"), Some(2));
        assert_eq!(vocabulary.get("d"), None);
        let mut seen: Vec<(&str, u32)> = vocabulary.iter().collect();
        seen.sort_unstable();
        assert_eq!(seen, [("a", 1), ("b", 0), ("c", 2)]);
    }
}
