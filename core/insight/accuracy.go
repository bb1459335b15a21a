package insight

// GroupingAccuracy is GA as defined by Zhu et al. (ICSE-SEIP 2019, "Tools and
// Benchmarks for Automated Log Parsing"): the share of lines whose predicted
// group (lines with the same predicted template) holds exactly the lines of
// their true group. pred and truth are templates, one per line.
func GroupingAccuracy(pred, truth []string) float64 {
	if len(pred) == 0 || len(pred) != len(truth) {
		return 0
	}
	predGroups := map[string][]int{}
	for i, p := range pred {
		predGroups[p] = append(predGroups[p], i)
	}
	truthSize := map[string]int{}
	for _, tr := range truth {
		truthSize[tr]++
	}
	correct := 0
	for _, idx := range predGroups {
		tr := truth[idx[0]]
		ok := truthSize[tr] == len(idx)
		for _, i := range idx {
			ok = ok && truth[i] == tr
		}
		if ok {
			correct += len(idx)
		}
	}
	return float64(correct) / float64(len(pred))
}
