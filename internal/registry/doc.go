// Package registry stores trained models as immutable, content-addressed versions with
// their lineage (what produced them, from which data, how well they validated), and moves
// aliases such as champion and challenger between versions with a history that allows
// rollback. The store is a plain directory, safe against concurrent writers and against a
// writer that dies mid-write. It knows nothing of model kinds: a version is a flat set of
// files (a model directory as forecast.Save writes it) plus lineage.json.
package registry
