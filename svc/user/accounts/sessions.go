package accounts

import (
	"context"
	"errors"
	"time"

	"hospital/lib/auth"
)

// issueTokens signs an access token and stores a new refresh token of the
// session family.
func (s *Service) issueTokens(ctx context.Context, st Store, u User, family string) (TokenPair, error) {
	access, err := s.signer.Sign(auth.Identity{UserID: u.ID, Role: u.Role, Username: u.Username, SessionID: family},
		s.opts.AccessTTL, randomID())
	if err != nil {
		return TokenPair{}, err
	}
	raw := randomToken()
	now := s.now()
	err = st.InsertRefresh(ctx, RefreshToken{
		Hash: tokenHash(raw), FamilyID: family, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL),
	})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, RefreshToken: raw}, nil
}

// Refresh rotates a refresh token: the presented one is spent and a new one
// of the same family comes back with a new access token. A spent token shown
// again means someone else holds a copy: the whole family is revoked.
func (s *Service) Refresh(ctx context.Context, raw string) (TokenPair, error) {
	var (
		pair    TokenPair
		refused bool
		reused  int64
	)
	err := s.store.InTx(ctx, func(tx Store) error {
		now := s.now()
		rt, err := tx.RefreshByHashForUpdate(ctx, tokenHash(raw))
		if errors.Is(err, ErrNotFound) {
			refused = true
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case rt.Revoked || !now.Before(rt.ExpiresAt):
			refused = true
			return nil
		case rt.Used:
			// The session's access tokens may be in the thief's hands too.
			refused, reused = true, rt.UserID
			if err := tx.RevokeFamily(ctx, rt.FamilyID, now); err != nil {
				return err
			}
			return revokeSessionIn(ctx, tx, rt.FamilyID)
		}
		a, err := tx.UserByIDShared(ctx, rt.UserID)
		if err != nil {
			return err
		}
		if !a.IsActive {
			refused = true
			return tx.RevokeFamily(ctx, rt.FamilyID, now)
		}
		if err := tx.MarkRefreshUsed(ctx, rt.ID, now); err != nil {
			return err
		}
		pair, err = s.issueTokens(ctx, tx, a.User, rt.FamilyID)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	if reused != 0 {
		s.revoked(ctx)
		s.log.WarnContext(ctx, "refresh token reused; session revoked everywhere", "account_id", reused)
	}
	if refused {
		return TokenPair{}, errBadToken
	}
	return pair, nil
}

// Logout ends the session of the caller's access token everywhere, and
// the session of refreshToken if given and the caller's. An unknown or
// foreign refresh token changes nothing and is not reported: the caller
// ends up logged out either way.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	a, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	id, _ := auth.FromContext(ctx)
	err = s.store.InTx(ctx, func(tx Store) error {
		sessions := []string{id.SessionID}
		if refreshToken != "" {
			rt, err := tx.RefreshByHashForUpdate(ctx, tokenHash(refreshToken))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil && rt.UserID == a.ID && rt.FamilyID != id.SessionID {
				sessions = append(sessions, rt.FamilyID)
			}
		}
		for _, sid := range sessions {
			if sid == "" {
				continue
			}
			if err := tx.RevokeFamily(ctx, sid, s.now()); err != nil {
				return err
			}
			if err := revokeSessionIn(ctx, tx, sid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.revoked(ctx)
	s.log.InfoContext(ctx, "logout", "account_id", a.ID)
	return nil
}

// VerifyToken returns the user an access token belongs to, if the token is
// valid and the user still active.
func (s *Service) VerifyToken(ctx context.Context, raw string) (User, error) {
	id, err := s.verifier.Verify(ctx, raw)
	if err != nil || id.UserID == 0 {
		return User{}, errBadToken
	}
	a, err := s.store.UserByID(ctx, id.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.IsActive) {
		return User{}, errBadToken
	}
	return a.User, err
}

// IssueServiceToken is the client-credentials grant for platform services,
// throttled like a sign-in (the account is the service name).
func (s *Service) IssueServiceToken(ctx context.Context, in ServiceTokenRequest) (ServiceTokenResponse, error) {
	at, err := s.begin(ctx, serviceAccount(in.Service))
	if err != nil {
		return ServiceTokenResponse{}, err
	}
	if !s.opts.ServiceClients.check(in.Service, in.Secret) {
		s.log.WarnContext(ctx, "service token refused", "service", in.Service)
		return ServiceTokenResponse{}, errBadServiceCreds
	}
	if err := s.succeeded(ctx, at); err != nil {
		return ServiceTokenResponse{}, err
	}
	tok, err := s.signer.Sign(auth.Identity{Role: auth.RoleService, Service: in.Service}, s.opts.ServiceTokenTTL, randomID())
	if err != nil {
		return ServiceTokenResponse{}, err
	}
	return ServiceTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.opts.ServiceTokenTTL / time.Second)}, nil
}
