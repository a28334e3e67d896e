//go:build chaosbug

package httpapi

// plantedStaleReads is the bug the chaos suite plants to show that its
// linearizability check catches one (e2e TestChaosCatchesPlantedBug): with
// it, every read is answered from the answering server's own state, as if
// ?stale had been asked, so a follower answers a default read without the
// leader. Only that test builds with -tags chaosbug; no release build does.
const plantedStaleReads = true
