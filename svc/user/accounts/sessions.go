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
	access, err := s.signer.Sign(auth.Identity{UserID: u.ID, Role: u.Role, Username: u.Username}, s.opts.AccessTTL, randomID())
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
			refused, reused = true, rt.UserID
			return tx.RevokeFamily(ctx, rt.FamilyID, now)
		}
		a, err := tx.UserByID(ctx, rt.UserID)
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
		s.log.WarnContext(ctx, "refresh token reused; token family revoked", "account_id", reused)
	}
	if refused {
		return TokenPair{}, errBadToken
	}
	return pair, nil
}

// Logout revokes the family of the caller's refresh token. An unknown or
// foreign token changes nothing and is not reported: the caller ends up
// logged out either way.
func (s *Service) Logout(ctx context.Context, raw string) error {
	a, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		rt, err := tx.RefreshByHashForUpdate(ctx, tokenHash(raw))
		if errors.Is(err, ErrNotFound) || (err == nil && rt.UserID != a.ID) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.RevokeFamily(ctx, rt.FamilyID, s.now())
	})
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

// IssueServiceToken is the client-credentials grant for platform services.
func (s *Service) IssueServiceToken(ctx context.Context, in ServiceTokenRequest) (ServiceTokenResponse, error) {
	if !s.opts.ServiceClients.check(in.Service, in.Secret) {
		s.log.WarnContext(ctx, "service token refused", "service", in.Service)
		return ServiceTokenResponse{}, errBadServiceCreds
	}
	tok, err := s.signer.Sign(auth.Identity{Role: auth.RoleService, Service: in.Service}, s.opts.ServiceTokenTTL, randomID())
	if err != nil {
		return ServiceTokenResponse{}, err
	}
	return ServiceTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.opts.ServiceTokenTTL / time.Second)}, nil
}
