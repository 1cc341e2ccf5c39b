package main

import "hospital/lib/api"

var apiInfo = api.Info{Title: "Billing & Insurance", Description: "Invoices, payments, insurance policies and claims."}
