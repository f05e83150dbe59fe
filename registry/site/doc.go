// Package site is the web view of a mode serve: the boot reports machines
// send (kept in a bbolt database, bounded), the JSON API under /api/ over the
// store's repositories, chains and layers and the machines' boots, the HTML
// pages at / rendered from the same values, and the Prometheus metrics at
// /metrics.
package site
