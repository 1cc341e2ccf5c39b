package mysqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// errNoHandshake: the server accepted the connection but did not greet.
var errNoHandshake = errors.New("mysql: the server accepted the connection but did not answer")

// handshakeBound gives a new connection's greeting and login their own
// deadline: the driver bounds only the dial, and would otherwise wait for
// the caller's context.
type handshakeBound struct {
	driver.Connector
	limit time.Duration
}

func (h handshakeBound) Connect(ctx context.Context) (driver.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, h.limit)
	defer cancel()
	c, err := h.Connector.Connect(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		return nil, fmt.Errorf("%w within %s: %w", errNoHandshake, h.limit, err)
	}
	return c, err
}

// Unreachable reports whether err means the store could not be reached: a
// refused or timed-out connection, a connection that broke or stopped
// answering, or a server that refuses work because it is shutting down or
// full. A handler answers it with 503 and Retry-After: the request may
// succeed once the store is back. A cancelled request, a duplicate key or a
// deadlock is not an outage.
func Unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, errNoHandshake) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, // too many connections
			1053, // server shutdown in progress
			1077, // normal shutdown
			1079, // shutdown complete
			1152, // aborted connection
			1927, // connection killed (MariaDB)
			4031: // disconnected by the server (MySQL 8)
			return true
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
